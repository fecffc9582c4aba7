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

ONNX Runtime's blocked NCHWc convolutions (its fast path on AVX2, blocks of 8 channels) skip any
conv whose channel counts are not multiples of 8. GridNet's half-resolution row has 46 channels
throughout; zero-padded to 48 (zero weights and biases; its two extra channels stay exactly zero)
its convolutions join that path: 256x256 frame 1091 -> 1054 ms (median of 12 interleaved runs).

GridNet's PReLUs have one slope each, which makes them LeakyReLUs with that slope (the same
function, value for value). ONNX Runtime fuses a LeakyRelu into the conv before it and has no such
fusion for PRelu: 1228 -> 1197 ms (median of 12 interleaved runs, a noisier hour of the machine).

Also tried and not kept: the same padding for the 18 prediction heads (30 hidden channels -> 32):
faster at 256x256 (1287 -> 1196 ms) but slower at 544x960 (9.05 -> 9.62 s, 4 interleaved runs) and
+0.35 GB peak RSS there (1.62 -> 1.97 GB, bench/cpu.py's worker, 3 runs), where users run; padding
their 25 tap channels too, or padding the last conv and slicing 25 back, no better. Slower in ONNX
Runtime: the texture branch's ``Conv3d`` as a frame-batched 2-D conv whose outputs are the three
time taps, summed shifted (16 -> 16 channels at 5 x 128 x 128: 26 ms vs 16 ms for the 3-D conv);
its 2-D transposed convs as one 3x3 conv with the four output phases as channels plus a pixel
shuffle (96 -> 16 at 5 x 128 x 128: 80 ms vs 54 ms).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from stmfnet_trt.model.gridnet import GRID_CHANNELS, GridNet


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


CHANNEL_MULTIPLE = 8


def _replace_children(
    model: nn.Module, applies: Callable[[nn.Module], bool], replacement: Callable[[nn.Module], nn.Module]
) -> int:
    """Replace every submodule of ``model`` for which ``applies`` holds by ``replacement(it)``, in
    place; returns how many. All are found before any is replaced, so replacements are not revisited."""
    targets = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if applies(child)
    ]
    for parent, name, child in targets:
        setattr(parent, name, replacement(child))
    return len(targets)


def _padded_conv(conv: nn.Conv2d, in_channels: int, out_channels: int) -> nn.Conv2d:
    """``conv`` with zero weights (and biases) for the added input and output channels."""
    if conv.groups != 1 or conv.padding_mode != "zeros":
        raise ValueError(f"{conv}: only ungrouped, zero-padded convs can be channel-padded exactly")
    padded = nn.Conv2d(
        in_channels,
        out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        padded.weight.zero_()
        padded.weight[: conv.out_channels, : conv.in_channels] = conv.weight
        if conv.bias is not None:
            padded.bias.zero_()
            padded.bias[: conv.out_channels] = conv.bias
    padded.requires_grad_(False)
    return padded


def _round_up(channels: int) -> int:
    return -(-channels // CHANNEL_MULTIPLE) * CHANNEL_MULTIPLE


def pad_grid_channels(grid: GridNet) -> int:
    """Pad GridNet's row channel counts that are not multiples of 8 (46 -> 48) in place; returns
    how many convs changed.

    The added channels of a row are exactly zero everywhere: the convs writing them have zero
    weights and biases, and everything else in the grid (one-slope PReLU, bilinear upsampling,
    residual sums) maps zero to zero channel by channel; the convs reading them ignore them.
    """
    padded_rows = {c: _round_up(c) for c in GRID_CHANNELS if c % CHANNEL_MULTIPLE}
    slopes = [m.num_parameters for m in grid.modules() if isinstance(m, nn.PReLU)]
    if any(count != 1 for count in slopes):
        raise ValueError("GridNet with per-channel PReLU slopes: channel padding would not be exact")

    def touches_padded_row(layer: nn.Module) -> bool:
        channels = (layer.in_channels, layer.out_channels) if isinstance(layer, nn.Conv2d) else ()
        return not padded_rows.keys().isdisjoint(channels)

    def padded(conv: nn.Conv2d) -> nn.Conv2d:
        in_channels = padded_rows.get(conv.in_channels, conv.in_channels)
        return _padded_conv(conv, in_channels, padded_rows.get(conv.out_channels, conv.out_channels))

    return _replace_children(grid, touches_padded_row, padded)


def prelu_as_leaky_relu(model: nn.Module) -> int:
    """Replace every one-slope ``nn.PReLU`` of ``model`` by ``nn.LeakyReLU`` with that slope, in
    place; returns how many were replaced. Per-channel PReLUs are left alone."""
    return _replace_children(
        model,
        lambda layer: isinstance(layer, nn.PReLU) and layer.num_parameters == 1,
        lambda prelu: nn.LeakyReLU(negative_slope=float(prelu.weight.item())),
    )


def rewrite_for_onnx_runtime(model: nn.Module) -> int:
    """Replace every rewritable layer of ``model`` in place; returns how many were replaced."""
    up_convs = _replace_children(model, TimeWindowConvTranspose3d.applies_to, TimeWindowConvTranspose3d)
    grids = [grid for grid in model.modules() if isinstance(grid, GridNet)]
    return up_convs + sum(pad_grid_channels(grid) for grid in grids) + prelu_as_leaky_relu(model)
