"""Export-time rewrites of layers that ONNX Runtime's CPU kernels handle badly; same arithmetic.

The texture branch's three ``ConvTranspose3d`` (kernel (3, 4, 4), stride (1, 2, 2)) are the
problem: ONNX Runtime computes a transposed convolution as one GEMM into a column buffer of
``C_out * k_t * k_h * k_w`` rows times the *whole* input volume, then col2im. For decoder.4 at
544x960 that buffer is 2.0 GB - most of the session's peak memory - and col2im is slow.

A transposed conv with time stride 1 and "same" time padding mixes only the k_t frames around each
output frame, so it is the 2-D transposed conv of those frames stacked along the channels (the
time window), run as a batch of T frames: the column buffer then holds one frame (134 MB at
544x960) and the 2-D kernel is no slower. Weights are rearranged, not changed; the sums only run in
a different order (float32 rounding, ~1e-6 at the layer's output).

Tried and not kept: the same time-window form for the branch's ``Conv3d`` layers (2-D convs in
ONNX Runtime's NCHWc layout instead of its 5-D im2col path). Exact (1.3e-6 per layer), but slower:
the texture branch took 280 ms instead of 246 ms per 256x256 frame (ORT profile, 2 x 3 runs back to
back), the window Concats alone 25 ms, and the convolutions no faster.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def time_windows(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(N, T, C, H, W) -> (N*T, size*C, H, W): frame t followed by its neighbours t-p .. t+p.

    Window slot ``a`` holds frame ``t - p + a`` (zeros beyond either end, as the conv's padding).
    """
    batch, steps, channels, height, width = frames.shape
    pad = size // 2
    padded = F.pad(frames, (0, 0, 0, 0, 0, 0, pad, pad))
    windows = torch.cat([padded[:, a : a + steps] for a in range(size)], dim=2)
    return windows.reshape(batch * steps, size * channels, height, width)


class TimeWindowConvTranspose3d(nn.Module):
    """``nn.ConvTranspose3d`` with time stride 1 and same-length time padding, as a batched 2-D one.

    Output frame t of the 3-D layer is ``sum_kt W[:, :, kt] (*) x[t + p - kt]`` (spatially
    transposed); with window slot ``a = k_t - 1 - kt`` holding frame ``t - p + a`` that is one 2-D
    transposed conv whose input channels are ``a * C_in + c`` and whose weight is the time-flipped
    3-D weight laid out the same way.
    """

    def __init__(self, layer: nn.ConvTranspose3d) -> None:
        super().__init__()
        time_kernel = layer.kernel_size[0]
        if not self.applies_to(layer):
            raise ValueError(f"{layer} is not a time-stride-1, same-length, ungrouped ConvTranspose3d")
        in_channels, out_channels = layer.in_channels, layer.out_channels
        weight = layer.weight.detach().flip(2).permute(2, 0, 1, 3, 4)
        self.weight = nn.Parameter(
            weight.reshape(time_kernel * in_channels, out_channels, *layer.kernel_size[1:]).contiguous(),
            requires_grad=False,
        )
        bias = layer.bias
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.time_kernel = time_kernel
        self.stride = layer.stride[1:]
        self.padding = layer.padding[1:]
        self.output_padding = layer.output_padding[1:]

    @staticmethod
    def applies_to(layer: nn.Module) -> bool:
        """Whether ``layer`` has the form this rewrite reproduces exactly."""
        if not isinstance(layer, nn.ConvTranspose3d):
            return False
        time_kernel = layer.kernel_size[0]
        return (
            layer.stride[0] == 1
            and layer.output_padding[0] == 0
            and time_kernel % 2 == 1
            and layer.padding[0] == time_kernel // 2
            and layer.dilation == (1, 1, 1)
            and layer.groups == 1
            and layer.padding_mode == "zeros"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, steps = x.shape[:3]
        windows = time_windows(x.transpose(1, 2), self.time_kernel)
        y = F.conv_transpose2d(
            windows, self.weight, self.bias, self.stride, self.padding, self.output_padding
        )
        return y.reshape(batch, steps, *y.shape[1:]).transpose(1, 2)


def rewrite_for_onnx_runtime(model: nn.Module) -> int:
    """Replace every rewritable layer of ``model`` in place; returns how many were replaced."""
    targets = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if TimeWindowConvTranspose3d.applies_to(child)
    ]
    for parent, name, child in targets:
        setattr(parent, name, TimeWindowConvTranspose3d(child))
    return len(targets)
