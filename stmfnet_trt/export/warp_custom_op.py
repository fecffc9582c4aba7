"""The warp as one opaque torch op for export, written as one ``AdaptiveWarp`` ONNX node.

Eager calls run the reference warp, so a model using this op still computes the right frames;
when exported, the op becomes a single node in our domain with the attributes TensorRT's ONNX
parser uses to find the plugin (``plugin_version``, ``plugin_namespace``).
"""

from __future__ import annotations

import math

import torch
from torch.onnx import symbolic_helper

from stmfnet_trt.core.contract import OPSET
from stmfnet_trt.core.warp_op import OP_DOMAIN, OP_NAME, PLUGIN_NAMESPACE, PLUGIN_VERSION
from stmfnet_trt.model.warp import adaptive_warp

TORCH_OP_NAME = "stmfnet_trt::adaptive_warp"


@torch.library.custom_op(TORCH_OP_NAME, mutates_args=())
def adaptive_warp_op(
    image: torch.Tensor,
    weight: torch.Tensor,
    offset_v: torch.Tensor,
    offset_h: torch.Tensor,
    kernel_size: int,
    dilation: int,
    softmax: int,
) -> torch.Tensor:
    del kernel_size  # implied by the weight's K*K channels; an attribute for the plugin's sake
    return adaptive_warp(image, weight, offset_v, offset_h, dilation, bool(softmax))


@adaptive_warp_op.register_fake
def _adaptive_warp_shape(image, weight, offset_v, offset_h, kernel_size, dilation, softmax):
    return image.new_empty((image.shape[0], image.shape[1], weight.shape[2], weight.shape[3]))


def _adaptive_warp_symbolic(g, image, weight, offset_v, offset_h, kernel_size, dilation, softmax):
    """TorchScript-exporter translation: one node in our domain."""
    node = g.op(
        f"{OP_DOMAIN}::{OP_NAME}",
        image,
        weight,
        offset_v,
        offset_h,
        kernel_size_i=symbolic_helper._get_const(kernel_size, "i", "kernel_size"),
        dilation_i=symbolic_helper._get_const(dilation, "i", "dilation"),
        softmax_i=symbolic_helper._get_const(softmax, "i", "softmax"),
        plugin_version_s=PLUGIN_VERSION,
        plugin_namespace_s=PLUGIN_NAMESPACE,
    )
    node.setType(image.type())  # same dtype and rank as the image; sizes come from shape inference
    return node


torch.onnx.register_custom_op_symbolic(TORCH_OP_NAME, _adaptive_warp_symbolic, OPSET)


def warp_via_custom_op(
    image: torch.Tensor,
    weight: torch.Tensor,
    offset_v: torch.Tensor,
    offset_h: torch.Tensor,
    dilation: int = 1,
    softmax: bool = False,
) -> torch.Tensor:
    """Drop-in for ``adaptive_warp`` that exports as one custom node."""
    kernel_size = math.isqrt(weight.shape[1])
    return adaptive_warp_op(image, weight, offset_v, offset_h, kernel_size, dilation, int(softmax))
