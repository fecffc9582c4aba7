"""Feature extractor: the U-shaped multi-scale ResNeXt of ST-MFNet (spec §5.1).

It reads the two mean-subtracted inner frames and returns 32 channels at half resolution,
which every prediction head consumes.
"""

from __future__ import annotations

import torch
from torch import nn

RESNEXT_GROUPS = 32
RESNEXT_BASE_WIDTH = 4


class ResNextBlock(nn.Module):
    """Bottleneck block with a grouped (``down``) or grouped transposed (up) 3x3-like conv."""

    def __init__(self, down: bool, cin: int, cout: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        width = (cout * RESNEXT_BASE_WIDTH // 64) * RESNEXT_GROUPS
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        if down:
            self.conv2 = nn.Conv2d(
                width, width, kernel_size, stride, (kernel_size - 1) // 2, groups=RESNEXT_GROUPS, bias=False
            )
        else:
            self.conv2 = nn.ConvTranspose2d(
                width,
                width,
                kernel_size,
                stride,
                (kernel_size - stride) // 2,
                groups=RESNEXT_GROUPS,
                bias=False,
            )
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        shortcut = (
            nn.Conv2d(cin, cout, 1, stride, bias=False)
            if down
            else nn.ConvTranspose2d(cin, cout, 2, stride, 0, bias=False)
        )
        self.downsample = nn.Sequential(shortcut, nn.BatchNorm2d(cout))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + self.downsample(x))


class SEBlock(nn.Module):
    """Squeeze-excitation gate: channel weights from the global average."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction),
            nn.ReLU(),
            nn.Linear(channels // reduction, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc(x.mean(dim=(2, 3)))
        return x * gate[:, :, None, None]


class MultiScaleResNextBlock(nn.Module):
    """Two ResNeXt blocks with a small and a large kernel, concatenated, then SE gating."""

    def __init__(
        self, down: bool, cin: int, cout: int, kernel_small: int, kernel_large: int, stride: int
    ) -> None:
        super().__init__()
        self.resnext_small = ResNextBlock(down, cin, cout // 2, kernel_small, stride)
        self.resnext_large = ResNextBlock(down, cin, cout // 2, kernel_large, stride)
        self.attention = SEBlock(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(torch.cat([self.resnext_small(x), self.resnext_large(x)], dim=1))


class UMultiScaleResNext(nn.Module):
    """Encoder-decoder with additive skips; output 32 channels at half the padded size."""

    def __init__(self, channels: tuple[int, int, int, int] = (32, 64, 96, 128)) -> None:
        super().__init__()
        c1, c2, c3, c4 = channels
        self.conv1 = MultiScaleResNextBlock(True, 6, c1, 3, 7, 2)
        self.conv2 = MultiScaleResNextBlock(True, c1, c2, 3, 7, 2)
        self.conv3 = MultiScaleResNextBlock(True, c2, c3, 3, 5, 2)
        self.conv4 = MultiScaleResNextBlock(True, c3, c4, 3, 5, 2)
        self.deconv4 = MultiScaleResNextBlock(True, c4, c4, 3, 5, 1)
        self.deconv3 = MultiScaleResNextBlock(False, c4, c3, 4, 6, 2)
        self.deconv2 = MultiScaleResNextBlock(False, c3, c2, 4, 8, 2)
        self.deconv1 = MultiScaleResNextBlock(False, c2, c1, 4, 8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.conv1(x)
        e2 = self.conv2(e1)
        e3 = self.conv3(e2)
        e4 = self.conv4(e3)
        d4 = self.deconv4(e4)
        d3 = self.deconv3(d4 + e4)
        d2 = self.deconv2(d3 + e3)
        return self.deconv1(d2 + e2)
