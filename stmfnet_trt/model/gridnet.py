"""GridNet fusion of the three warped scale pairs into one frame (spec §5.5, ``MIMOGridNet``)."""

from __future__ import annotations

import torch
from torch import nn

GRID_CHANNELS = (16, 32, 46)  # rows: double, full, half resolution
INPUT_CHANNELS = 6  # warped I1 and I2, three channels each
OUTPUT_CHANNELS = 3


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class LateralBlock(nn.Module):
    """Residual 3x3 pair; a 3x3 conv shortcut where the channel count changes."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.PReLU(), _conv(cin, cout), nn.PReLU(), _conv(cout, cout))
        self.conv = _conv(cin, cout) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.conv is None else self.conv(x)
        return self.f(x) + shortcut


class DownSamplingBlock(nn.Module):
    """Moves a row's state one scale down (stride-2 conv)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.PReLU(), _conv(cin, cout, stride=2), nn.PReLU(), _conv(cout, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.f(x)


class UpSamplingBlock(nn.Module):
    """Moves a row's state one scale up (bilinear x2, align_corners=False)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.f = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.PReLU(),
            _conv(cin, cout),
            nn.PReLU(),
            _conv(cout, cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.f(x)


class GridNet(nn.Module):
    """3 rows x 4 columns; output read from row 1 (full resolution).

    Row 0 of the up half (``lateral_0_2``, ``lateral_0_3``, ``up_0_0``, ``up_0_1``) never reaches
    the output in the original. Those modules are kept so checkpoints load strictly, but are not
    evaluated: the result is identical and about 6 GMAC per 256x256 frame cheaper.
    """

    def __init__(self) -> None:
        super().__init__()
        ch = GRID_CHANNELS
        for row in range(3):
            self.add_module(f"lateral_{row}_0", LateralBlock(INPUT_CHANNELS, ch[row]))
            for col in (1, 2, 3):
                self.add_module(f"lateral_{row}_{col}", LateralBlock(ch[row], ch[row]))
        for row in (0, 1):
            for col in (0, 1):
                self.add_module(f"down_{row}_{col}", DownSamplingBlock(ch[row], ch[row + 1]))
        for row in (0, 1):
            for col in (0, 1):
                self.add_module(f"up_{row}_{col}", UpSamplingBlock(ch[row + 1], ch[row]))
        self.lateral_final_1 = LateralBlock(ch[1], OUTPUT_CHANNELS)

    def forward(self, double: torch.Tensor, full: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
        state = [double, full, half]
        for col in (0, 1):
            for row in (0, 1, 2):
                state[row] = getattr(self, f"lateral_{row}_{col}")(state[row])
                if row > 0:
                    state[row] = state[row] + getattr(self, f"down_{row - 1}_{col}")(state[row - 1])
        for col in (2, 3):
            for row in (2, 1):  # row 0 of the up half is dead compute (see class docstring)
                state[row] = getattr(self, f"lateral_{row}_{col}")(state[row])
                if row < 2:
                    state[row] = state[row] + getattr(self, f"up_{row}_{col - 2}")(state[row + 1])
        return self.lateral_final_1(state[1])
