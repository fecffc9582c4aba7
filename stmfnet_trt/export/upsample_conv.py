"""The heads' ``Upsample -> Conv3x3`` tails as a low-resolution 1x1 conv plus one custom node.

Each of the 12 upsampling prediction heads ends in ReLU -> bilinear Upsample (x2 or x4,
align_corners) -> 3x3 conv (25 -> 25 channels) at full or twice-full resolution: ~22 of the ~82
GFLOP of a 256x256 frame, on a channel count ONNX Runtime's fast convolutions do not take.
Upsampling is linear, so the conv of the upsampled map equals the upsampled-and-shifted sum of a
1x1 conv's 9*C output planes computed at LOW resolution (``plugins/upsample_conv/upsample_conv_cpu.h``
derives it): the graph keeps that 1x1 conv as a standard node and hands its planes to one
``UpsampleConv3x3`` node, which evaluates the sum without ever storing the upsampled map (~10
multiply-adds per output value instead of 225). Same function; float32 sums in another order.

Only ONNX Runtime with our op library runs it (TensorRT has no such plugin, and its convolutions
are fast there): the ``cpu`` export variant uses it, ``plugin`` and ``portable`` do not.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.onnx import symbolic_helper

from stmfnet_trt.core.contract import OPSET
from stmfnet_trt.core.upsample_conv_op import ATTR_SCALE, OP_NAME
from stmfnet_trt.core.warp_op import OP_DOMAIN

TORCH_OP_NAME = "stmfnet_trt::upsample_conv3x3"
TAPS = 9  # 3 x 3


def upsample_conv_reference(taps: torch.Tensor, bias: torch.Tensor, scale: int) -> torch.Tensor:
    """The op's definition: ``sum_{dy,dx} U(taps[:, (o*3+dy)*3+dx])[Y+dy-1, X+dx-1] + bias[o]``.

    U is bilinear upsampling by ``scale`` (align_corners=True); positions outside the upsampled map
    contribute zero (the 3x3 conv's padding).
    """
    batch, channels = taps.shape[:2]
    up = F.interpolate(taps, scale_factor=scale, mode="bilinear", align_corners=True)
    big_h, big_w = up.shape[-2:]
    padded = F.pad(up, (1, 1, 1, 1)).reshape(batch, channels // TAPS, 3, 3, big_h + 2, big_w + 2)
    out = sum(padded[:, :, dy, dx, dy : dy + big_h, dx : dx + big_w] for dy in range(3) for dx in range(3))
    return out + bias.view(1, -1, 1, 1)


@torch.library.custom_op(TORCH_OP_NAME, mutates_args=())
def upsample_conv_op(taps: torch.Tensor, bias: torch.Tensor, scale: int) -> torch.Tensor:
    return upsample_conv_reference(taps, bias, scale)


@upsample_conv_op.register_fake
def _upsample_conv_shape(taps, bias, scale):
    batch, channels, height, width = taps.shape
    return taps.new_empty((batch, channels // TAPS, height * scale, width * scale))


def _upsample_conv_symbolic(g, taps, bias, scale):
    """TorchScript-exporter translation: one node in our domain."""
    node = g.op(
        f"{OP_DOMAIN}::{OP_NAME}",
        taps,
        bias,
        **{f"{ATTR_SCALE}_i": symbolic_helper._get_const(scale, "i", ATTR_SCALE)},
    )
    # Channels C = taps / 9; height and width left unknown (scaled, they are new symbols): taps'
    # own sizes here would give every such node the same, wrong shape in the graph's value_info,
    # which ONNX Runtime's memory planner trusts.
    sizes = symbolic_helper._get_tensor_sizes(taps) or [None] * 4
    channels = sizes[1] // TAPS if sizes[1] is not None else None
    node.setType(taps.type().with_sizes([sizes[0], channels, None, None]))
    return node


torch.onnx.register_custom_op_symbolic(TORCH_OP_NAME, _upsample_conv_symbolic, OPSET)


class FactoredUpsampleConv(nn.Module):
    """``conv(upsample(x))`` as ``UpsampleConv3x3(conv1x1(x))``: the conv's weights, rearranged."""

    def __init__(self, upsample: nn.Upsample, conv: nn.Conv2d) -> None:
        super().__init__()
        if not self.applies_to(upsample, conv):
            raise ValueError(f"{upsample} -> {conv} is not a factorable bilinear upsample + 3x3 conv")
        out_channels, in_channels = conv.weight.shape[:2]
        # 1x1 weight row (o*3 + dy)*3 + dx = W[o, :, dy, dx].
        weight = conv.weight.detach().permute(0, 2, 3, 1).reshape(out_channels * TAPS, in_channels, 1, 1)
        self.taps = nn.Parameter(weight.contiguous(), requires_grad=False)
        self.bias = nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
        self.scale = int(upsample.scale_factor)

    @staticmethod
    def applies_to(upsample: nn.Module, conv: nn.Module) -> bool:
        """Whether the pair is the form the op computes exactly."""
        factor = getattr(upsample, "scale_factor", None)
        return (
            isinstance(upsample, nn.Upsample)
            and upsample.mode == "bilinear"
            and upsample.align_corners is True
            and upsample.size is None
            and isinstance(factor, (int, float))
            and float(factor).is_integer()
            and factor >= 1
            and isinstance(conv, nn.Conv2d)
            and conv.kernel_size == (3, 3)
            and conv.stride == (1, 1)
            and conv.padding == (1, 1)
            and conv.dilation == (1, 1)
            and conv.groups == 1
            and conv.padding_mode == "zeros"
            and conv.bias is not None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample_conv_op(F.conv2d(x, self.taps), self.bias, self.scale)


def factor_upsample_convs(model: nn.Module) -> int:
    """Replace every ``Upsample, Conv2d`` pair of consecutive ``nn.Sequential`` entries that
    ``FactoredUpsampleConv`` reproduces, in place (the Upsample becomes an Identity, which exports
    to nothing); returns how many pairs."""
    pairs = [
        (seq, index)
        for seq in model.modules()
        if isinstance(seq, nn.Sequential)
        for index in range(len(seq) - 1)
        if FactoredUpsampleConv.applies_to(seq[index], seq[index + 1])
    ]
    for seq, index in pairs:
        seq[index + 1] = FactoredUpsampleConv(seq[index], seq[index + 1])
        seq[index] = nn.Identity()
    return len(pairs)
