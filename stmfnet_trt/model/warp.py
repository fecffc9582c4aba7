"""The adaptive (AdaCoF) warp in vectorised PyTorch: the oracle for every other implementation.

Semantics follow the official CUDA kernel exactly (spec ARCHITECTURE.md §7):

* ``image`` is already replicate-padded by ``P = (K - 1) * dilation / 2`` on every side;
* output pixel (i, j), tap (k, l) samples the padded image at row ``i + k*d + alpha`` and column
  ``j + l*d + beta``;
* the integer part of an offset is a C cast (**truncation toward zero**), so a negative
  non-integer offset has a negative fraction and the two-tap blend *extrapolates*;
* each of the four corner indices is clamped independently into the padded image;
* float32 arithmetic, taps summed k-outer / l-inner, the four corner terms added left to right
  and multiplied by the tap weight before accumulating.

Gradients flow to weights and offsets as in the original hand-written backward (the truncated
integer part is a constant); the original gives the image no gradient, so it is detached.
The loop over the K*K taps keeps extra memory at O(C*H*W) instead of materialising
K*K index tensors the size of the image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def warp_input_padding(kernel_size: int, dilation: int) -> int:
    """Border that the image input of the warp must carry on every side."""
    return (kernel_size - 1) * dilation // 2


def check_warp_shapes(
    image: torch.Tensor,
    weight: torch.Tensor,
    offset_v: torch.Tensor,
    offset_h: torch.Tensor,
    dilation: int,
) -> int:
    """Validate the operator's layout and return K (the taps per side).

    Every implementation of the op shares this contract, so it fails early with the expected
    shapes spelled out rather than deep inside an index computation.
    """
    if image.dim() != 4 or weight.dim() != 4:
        raise ValueError("adaptive_warp: image and weight must be 4-D NCHW tensors")
    taps = weight.shape[1]
    kernel_size = math.isqrt(taps)
    if kernel_size * kernel_size != taps or kernel_size % 2 == 0:
        raise ValueError(f"adaptive_warp: weight has {taps} channels, expected K*K for an odd K")
    if offset_v.shape != weight.shape or offset_h.shape != weight.shape:
        raise ValueError(
            "adaptive_warp: weight, offset_v and offset_h must share one shape (B, K*K, H, W); got "
            f"{tuple(weight.shape)}, {tuple(offset_v.shape)}, {tuple(offset_h.shape)}"
        )
    if dilation < 1:
        raise ValueError(f"adaptive_warp: dilation must be >= 1, got {dilation}")
    batch, _, height, width = weight.shape
    span = (kernel_size - 1) * dilation
    expected = (batch, image.shape[1], height + span, width + span)
    if tuple(image.shape) != expected:
        raise ValueError(
            f"adaptive_warp: image must be (B, C, H+{span}, W+{span}) = {expected} for weights "
            f"{tuple(weight.shape)} (replicate-pad it by {span // 2}); got {tuple(image.shape)}"
        )
    return kernel_size


def adaptive_warp(
    image: torch.Tensor,
    weight: torch.Tensor,
    offset_v: torch.Tensor,
    offset_h: torch.Tensor,
    dilation: int = 1,
    softmax: bool = False,
) -> torch.Tensor:
    """Warp ``image`` (B, C, H+span, W+span) with per-pixel K x K taps into (B, C, H, W).

    ``weight``, ``offset_v`` (rows, "alpha") and ``offset_h`` (columns, "beta") are
    (B, K*K, H, W); tap n = k*K + l. With ``softmax=True`` ``weight`` holds logits and the
    softmax over the taps is taken here, which is what the fused custom op does.
    """
    kernel_size = check_warp_shapes(image, weight, offset_v, offset_h, dilation)
    if softmax:
        weight = torch.softmax(weight, dim=1)
    batch, channels, padded_h, padded_w = image.shape
    _, _, height, width = weight.shape

    # A float -> int64 cast truncates toward zero, exactly like the kernel's C cast, and exports
    # to one ONNX Cast: this function is also the warp of the portable ONNX graph. Integer
    # tensors carry no gradient, so d(frac)/d(offset) = 1 as in the original backward.
    int_v = offset_v.to(torch.int64)
    int_h = offset_h.to(torch.int64)
    frac_v = offset_v - int_v.to(offset_v.dtype)
    frac_h = offset_h - int_h.to(offset_h.dtype)

    flat_image = image.detach().reshape(batch, channels, padded_h * padded_w)
    rows = torch.arange(height, device=image.device).view(1, height, 1)
    cols = torch.arange(width, device=image.device).view(1, 1, width)

    def sample(row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        """Gather image values at clamped (row, col) of shape (B, H, W) for every channel."""
        index = (row.clamp(0, padded_h - 1) * padded_w + col.clamp(0, padded_w - 1)).view(batch, 1, -1)
        picked = torch.gather(flat_image, 2, index.expand(batch, channels, height * width))
        return picked.view(batch, channels, height, width)

    out = None
    for tap in range(kernel_size * kernel_size):
        tap_row, tap_col = divmod(tap, kernel_size)
        row0 = rows + tap_row * dilation + int_v[:, tap]
        col0 = cols + tap_col * dilation + int_h[:, tap]
        fa = frac_v[:, tap : tap + 1]
        fb = frac_h[:, tap : tap + 1]
        blend = sample(row0, col0) * (1 - fa) * (1 - fb)
        blend = blend + sample(row0 + 1, col0) * fa * (1 - fb)
        blend = blend + sample(row0, col0 + 1) * (1 - fa) * fb
        blend = blend + sample(row0 + 1, col0 + 1) * fa * fb
        term = weight[:, tap : tap + 1] * blend
        out = term if out is None else out + term
    return out


def replicate_pad_for_warp(image: torch.Tensor, kernel_size: int = 5, dilation: int = 1) -> torch.Tensor:
    """Pad an image the way the model does before warping (ReplicationPad2d of P)."""
    pad = warp_input_padding(kernel_size, dilation)
    return F.pad(image, (pad, pad, pad, pad), mode="replicate")
