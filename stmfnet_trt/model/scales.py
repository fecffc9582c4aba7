"""Half- and double-resolution versions of the inner frames (spec §5.3).

Both filters are frozen parameters stored in the checkpoint, so they are loaded, not recomputed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

UPSAMPLE_TAPS = 8


def gaussian_downscale(image: torch.Tensor, gauss_kernel: torch.Tensor) -> torch.Tensor:
    """Reflect-pad 2, depthwise 5x5 blur, then a bilinear resize to half size (a 2x2 average)."""
    channels = image.shape[1]
    blurred = F.conv2d(F.pad(image, (2, 2, 2, 2), mode="reflect"), gauss_kernel, groups=channels)
    height, width = image.shape[-2:]
    return F.interpolate(blurred, size=(height // 2, width // 2), mode="bilinear", align_corners=False)


class Upsampler8Tap(nn.Module):
    """Doubles the resolution with the 8-tap half-sample filter, keeping the input pixels."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        taps = torch.tensor([-1.0, 4.0, -11.0, 40.0, 40.0, -11.0, 4.0, -1.0]) / 64.0
        self.filter = nn.Parameter(
            taps.view(1, 1, 1, UPSAMPLE_TAPS).repeat(channels, 1, 1, 1), requires_grad=False
        )

    def _horizontal(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (3, 4, 0, 0), mode="reflect"), self.filter, groups=x.shape[1])

    def _vertical(self, x: torch.Tensor) -> torch.Tensor:
        vertical_filter = self.filter.transpose(2, 3)
        return F.conv2d(F.pad(x, (0, 0, 3, 4), mode="reflect"), vertical_filter, groups=x.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        odd_rows = self._vertical(x)
        # Interleave: even/even = input, even/odd = horizontal, odd/even = vertical,
        # odd/odd = horizontal filter of the vertical result. Stacking and reshaping places the
        # four phases without strided writes, which tracers and compilers handle better.
        even_row = torch.stack([x, self._horizontal(x)], dim=-1).view(batch, channels, height, 2 * width)
        odd_row = torch.stack([odd_rows, self._horizontal(odd_rows)], dim=-1).view(
            batch, channels, height, 2 * width
        )
        return torch.stack([even_row, odd_row], dim=-2).view(batch, channels, 2 * height, 2 * width)
