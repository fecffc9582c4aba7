"""The torch module that is exported: the network on padded frames, warp per variant."""

from __future__ import annotations

import torch
from torch import nn

from stmfnet_trt.core.contract import CUSTOM_WARP_VARIANTS, VARIANTS
from stmfnet_trt.export.rewrites import rewrite_for_onnx_runtime
from stmfnet_trt.model.network import STMFNetMini
from stmfnet_trt.model.warp import adaptive_warp


class PaddedInterpolator(nn.Module):
    """``frame0..frame3 -> middle`` on frames whose sides are multiples of 128 (the contract)."""

    def __init__(self, model: STMFNetMini) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, frame0: torch.Tensor, frame1: torch.Tensor, frame2: torch.Tensor, frame3: torch.Tensor
    ) -> torch.Tensor:
        return self.model.forward_padded(frame0, frame1, frame2, frame3)


def prepare_for_variant(model: STMFNetMini, variant: str) -> PaddedInterpolator:
    """Point the model's warp at the variant's implementation.

    *plugin*: weight heads stop at their logits and one ``AdaptiveWarp`` node per warp does the
    softmax and the warp (what the TensorRT plugin and the ORT custom op implement).
    *portable*: the reference warp itself, whose int64 casts, clamps and gathers are standard
    ONNX ops; the softmax stays a graph op.
    *cpu*: *plugin*, and the heads' upsample + 3x3 conv tails as a 1x1 conv and one
    ``UpsampleConv3x3`` node each (``upsample_conv``): the fastest graph for ONNX Runtime on a CPU,
    which only ONNX Runtime with our op library runs.

    All: the layers ``rewrites`` knows are replaced by their ONNX-Runtime-friendly equivalents
    (same weights, same arithmetic up to float32 summation order).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant in CUSTOM_WARP_VARIANTS:
        from stmfnet_trt.export.warp_custom_op import warp_via_custom_op

        model.warp, model.fused_softmax = warp_via_custom_op, True
    else:
        model.warp, model.fused_softmax = adaptive_warp, False
    rewrite_for_onnx_runtime(model)
    if variant == "cpu":
        from stmfnet_trt.export.upsample_conv import factor_upsample_convs

        factor_upsample_convs(model.get_kernel)
    return PaddedInterpolator(model.eval())
