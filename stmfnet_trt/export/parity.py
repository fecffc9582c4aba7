"""Numbers that say whether two implementations of the model agree: max abs, mean abs, PSNR.

Used after every export (ONNX in ONNX Runtime vs the PyTorch reference) and by
``stmfnet-trt check``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stmfnet_trt.core.contract import INPUT_NAMES, OUTPUT_NAME
from stmfnet_trt.core.frames import random_frames
from stmfnet_trt.export.ort_session import create_session

# What "the same model" means after an export. The network has genuine discontinuities: the warp
# truncates sample coordinates toward zero and clamps them (the official semantics), so an offset
# that differs by 1e-6 between two float implementations can move a sample across a pixel
# boundary, and trained weights amplify float reassociation near sharp edges. Measured with the
# demo weights, ONNX Runtime vs torch on the blocky `random_frames` at 256x384 over 8 seeds: max
# abs 4e-5 .. 3.9e-3, 0 .. 173 values above 1e-4, 0 .. 7 above 1e-3 (of 294,912), the 99.99th
# percentile <= 4.2e-4; torch itself moves by 2e-5 when the input changes by 1e-7 (relative). A
# bare max abs is therefore a coin toss for trained weights. The check: at most
# MAX_OUTLIER_FRACTION of the values beyond PARITY_TOLERANCE (a quarter 8-bit step) and a PSNR of
# at least MIN_PARITY_PSNR_DB; a wrong graph fails both by orders of magnitude. The random-stats
# test weights stay near 2e-6 everywhere, and the tests hold them to a plain max abs of 1e-4.
PARITY_TOLERANCE = 1e-3
MAX_OUTLIER_FRACTION = 1e-4
MIN_PARITY_PSNR_DB = 80.0
# Parity frames are seeded, so an export's verdict is reproducible.
PARITY_SEED = 0


def _absolute_difference(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """|reference - candidate| element by element, in float64."""
    return np.abs(reference.astype(np.float64) - candidate.astype(np.float64))


@dataclass(frozen=True)
class Difference:
    """How far ``candidate`` is from ``reference``; PSNR treats [0, 1] as the signal range."""

    max_abs: float
    mean_abs: float
    psnr_db: float

    @classmethod
    def between(cls, reference: np.ndarray, candidate: np.ndarray) -> Difference:
        return cls.of_abs(_absolute_difference(reference, candidate))

    @classmethod
    def of_abs(cls, diff: np.ndarray) -> Difference:
        """From the element-wise absolute differences (float64), when the caller has them already."""
        mse = float(np.mean(diff**2))
        psnr = math.inf if mse == 0 else 10 * math.log10(1.0 / mse)
        return cls(float(diff.max()), float(diff.mean()), psnr)

    def __str__(self) -> str:
        return f"max abs {self.max_abs:.3g}, mean abs {self.mean_abs:.3g}, PSNR {self.psnr_db:.1f} dB"


@dataclass(frozen=True)
class ParityReport:
    """One comparison: its input shape, the differences, and how many values exceed ``tolerance``."""

    shape: tuple[int, ...]
    difference: Difference
    tolerance: float
    outliers: int  # values farther than ``tolerance`` from the reference
    values: int

    @classmethod
    def between(
        cls,
        reference: np.ndarray,
        candidate: np.ndarray,
        tolerance: float,
        shape: tuple[int, ...] | None = None,
    ) -> ParityReport:
        """Judge ``candidate`` against ``reference``; ``shape`` names the input (default: the output's)."""
        diff = _absolute_difference(reference, candidate)
        outliers = int(np.count_nonzero(diff > tolerance))
        difference = Difference.of_abs(diff)
        return cls(tuple(shape or reference.shape), difference, tolerance, outliers, reference.size)

    @property
    def allowed_outliers(self) -> int:
        return int(MAX_OUTLIER_FRACTION * self.values)

    @property
    def passed(self) -> bool:
        return self.outliers <= self.allowed_outliers and self.difference.psnr_db >= MIN_PARITY_PSNR_DB

    def summary(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        return (
            f"{verdict} at {self.shape}: {self.difference}; {self.outliers} of {self.values} values beyond "
            f"max abs {self.tolerance:g} (allowed {self.allowed_outliers}, PSNR >= {MIN_PARITY_PSNR_DB:g} dB)"
        )


def reference_output(model, frames: np.ndarray) -> np.ndarray:
    """PyTorch reference on padded frames (N, 4, 3, H, W) -> (N, 3, H, W)."""
    import torch

    with torch.inference_mode():
        return model.forward_padded(*torch.from_numpy(frames).unbind(dim=1)).numpy()


def onnx_output(path: str | Path, frames: np.ndarray, session=None) -> np.ndarray:
    """Run an exported graph on padded frames (N, 4, 3, H, W) in ONNX Runtime."""

    session = session or create_session(path)
    feeds = {name: np.ascontiguousarray(frames[:, i]) for i, name in enumerate(INPUT_NAMES)}
    return session.run([OUTPUT_NAME], feeds)[0]


def check_parity(
    path: str | Path,
    model,
    size: tuple[int, int],
    tolerance: float,
    batch: int = 1,
    seed: int | None = PARITY_SEED,
) -> ParityReport:
    """Compare an ONNX file with the torch model on seeded smooth random frames of ``size``."""

    frames = random_frames((batch, len(INPUT_NAMES), 3, *size), seed)
    return ParityReport.between(
        reference_output(model, frames), onnx_output(path, frames), tolerance, frames.shape
    )
