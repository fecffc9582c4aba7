"""Numbers that say whether two implementations of the model agree: max abs, mean abs, PSNR.

Used after every export (ONNX in ONNX Runtime vs the PyTorch reference) and by
``stmfnet-trt check``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .contract import INPUT_NAMES, OUTPUT_NAME

# Default max abs allowed between a backend and the PyTorch reference (frames in [0, 1]): a quarter of
# an 8-bit step, so no output pixel can move by more than one level. Why not tighter: trained
# weights amplify float reassociation near sharp edges. Measured with the demo weights on the
# blocky random frames of `random_frames` (256x384): a 1e-7 relative change of the input moves
# torch's own output by up to 2e-5, and ONNX Runtime vs torch differs by up to 1.9e-4 in 12 of
# 295k values (PSNR > 100 dB) for both ONNX variants; random-stats test weights stay near 2e-6,
# which the tests hold to 1e-4.
PARITY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Difference:
    """How far ``candidate`` is from ``reference``; PSNR treats [0, 1] as the signal range."""

    max_abs: float
    mean_abs: float
    psnr_db: float

    @classmethod
    def between(cls, reference: np.ndarray, candidate: np.ndarray) -> Difference:
        diff = np.abs(reference.astype(np.float64) - candidate.astype(np.float64))
        mse = float(np.mean(diff**2))
        psnr = math.inf if mse == 0 else 10 * math.log10(1.0 / mse)
        return cls(float(diff.max()), float(diff.mean()), psnr)

    def __str__(self) -> str:
        return f"max abs {self.max_abs:.3g}, mean abs {self.mean_abs:.3g}, PSNR {self.psnr_db:.1f} dB"


@dataclass(frozen=True)
class ParityReport:
    """One comparison with its input shape and the tolerance it was held to (max abs)."""

    shape: tuple[int, ...]
    difference: Difference
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.difference.max_abs <= self.tolerance

    def summary(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        return f"{verdict} at {self.shape}: {self.difference} (tolerance max abs {self.tolerance:g})"


def reference_output(model, frames: np.ndarray) -> np.ndarray:
    """PyTorch reference on padded frames (N, 4, 3, H, W) -> (N, 3, H, W)."""
    import torch

    with torch.inference_mode():
        return model.forward_padded(*torch.from_numpy(frames).unbind(dim=1)).numpy()


def onnx_output(path: str | Path, frames: np.ndarray, session=None) -> np.ndarray:
    """Run an exported graph on padded frames (N, 4, 3, H, W) in ONNX Runtime."""
    from ..runtime.ort_session import create_session

    session = session or create_session(path)
    feeds = {name: np.ascontiguousarray(frames[:, i]) for i, name in enumerate(INPUT_NAMES)}
    return session.run([OUTPUT_NAME], feeds)[0]


def check_parity(
    path: str | Path, model, size: tuple[int, int], tolerance: float, batch: int = 1, seed: int | None = None
) -> ParityReport:
    """Compare an ONNX file with the torch model on fresh smooth random frames of ``size``."""
    from .exporter import random_frames

    frames = random_frames((batch, len(INPUT_NAMES), 3, *size), seed)
    difference = Difference.between(reference_output(model, frames), onnx_output(path, frames))
    return ParityReport(frames.shape, difference, tolerance)
