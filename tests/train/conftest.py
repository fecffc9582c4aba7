"""Fixtures for the training tests: a tiny stand-in model (frame folders: tests/conftest.py)."""

from __future__ import annotations

import pytest


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
