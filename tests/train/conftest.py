"""Fixtures for the training and evaluation tests: frame folders and a tiny stand-in model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from synthetic_media import write_frames


@pytest.fixture
def frame_folder(tmp_path: Path) -> Callable[[str, Sequence[np.ndarray]], Path]:
    """Writes frames into tmp_path/<name> and returns the folder."""
    return lambda name, frames: write_frames(tmp_path / name, frames)


@pytest.fixture(scope="session")
def tiny_model_class():
    """A stand-in for ST-MFNet Mini with the same call signature, a conv and batch norm.

    The trainer's mechanics (resume, checkpoints, schedule) do not depend on the network, and
    the real one takes seconds per step on a CPU.
    """
    import torch
    from torch import nn

    class TinyInterpolator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mix = nn.Conv2d(12, 3, 3, padding=1)
            self.norm = nn.BatchNorm2d(3)

        def forward(self, f0, f1, f2, f3):
            return (f1 + f2) / 2 + 0.1 * self.norm(self.mix(torch.cat([f0, f1, f2, f3], dim=1)))

    return TinyInterpolator
