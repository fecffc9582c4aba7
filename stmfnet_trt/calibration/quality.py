"""The quality gate: a low-precision model must stay close to its FP32 source on unseen windows.

FP16 and INT8 trade accuracy for speed, and how much depends on the weights and the footage,
so every build measures it instead of trusting defaults: both models run in ONNX Runtime on
the CPU on the held-out windows (never the calibration windows, which the INT8 ranges were
fitted to), and the FP32 output is the reference. PSNR treats [0, 1] as the signal range over
all held-out pixels together; max abs is the worst pixel. Below the threshold the build fails
with the numbers, unless the caller accepts the loss.

ONNX Runtime's CPU kernels are not TensorRT's: FP16 convolutions there may accumulate
differently and INT8 runs as QLinearConv. The gate measures the model's numerics (what was
rounded where); the TensorRT engine's own check belongs to the engine build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stmfnet_trt.core.contract import INPUT_NAMES, OUTPUT_NAME
from stmfnet_trt.core.errors import Param, UserError
from stmfnet_trt.export.ort_session import create_session
from stmfnet_trt.export.parity import Difference

DEFAULT_THRESHOLDS_DB = {"fp16": 45.0, "int8": 32.0}


@dataclass(frozen=True)
class QualityReport:
    """How far the low-precision model is from FP32 on the held-out windows."""

    precision: str
    psnr_db: float
    max_abs: float
    mean_abs: float
    worst_window_psnr_db: float
    windows: int
    threshold_db: float
    accepted_loss: bool = False

    @property
    def passed(self) -> bool:
        return self.psnr_db >= self.threshold_db

    def summary(self) -> str:
        verdict = "passed" if self.passed else "accepted below threshold" if self.accepted_loss else "FAILED"
        return (
            f"{self.precision} vs fp32 on {self.windows} held-out window(s): PSNR {self.psnr_db:.2f} dB "
            f"(worst window {self.worst_window_psnr_db:.2f} dB), max abs {self.max_abs:.4g}, "
            f"mean abs {self.mean_abs:.3g}; threshold {self.threshold_db:g} dB: {verdict}"
        )


class QualityGateError(UserError):
    """A low-precision model fell below its PSNR threshold; ``report`` holds the numbers."""

    def __init__(self, report: QualityReport) -> None:
        super().__init__(
            f"{report.summary()}. Exclude the layers that cost most (see the sensitivity report), use a "
            "higher precision, or accept the loss explicitly (",
            Param("accept_quality_loss", True),
            ")",
        )
        self.report = report


def model_outputs(path: str | Path, windows: np.ndarray) -> np.ndarray:
    """Run an ONNX model on windows (N, 4, 3, H, W) one at a time -> (N, 3, H, W) float32."""
    session = create_session(path)
    outputs = [
        session.run([OUTPUT_NAME], {n: window[i][None] for i, n in enumerate(INPUT_NAMES)})[0][0]
        for window in windows
    ]
    return np.stack(outputs).astype(np.float32)


def compare_outputs(
    reference: np.ndarray, candidate: np.ndarray, precision: str, threshold_db: float, accept: bool = False
) -> QualityReport:
    """The report for two stacks of outputs (N, 3, H, W)."""
    overall = Difference.between(reference, candidate)
    worst = min(Difference.between(r, c).psnr_db for r, c in zip(reference, candidate, strict=True))
    return QualityReport(
        precision=precision,
        psnr_db=overall.psnr_db,
        max_abs=overall.max_abs,
        mean_abs=overall.mean_abs,
        worst_window_psnr_db=worst,
        windows=len(reference),
        threshold_db=threshold_db,
        accepted_loss=accept,
    )


def quality_gate(
    fp32_onnx: str | Path,
    low_onnx: str | Path,
    held_out: np.ndarray,
    precision: str,
    threshold_db: float | None = None,
    accept_quality_loss: bool = False,
) -> QualityReport:
    """Measure ``low_onnx`` against ``fp32_onnx``; raise QualityGateError below the threshold.

    ``threshold_db`` defaults to ``DEFAULT_THRESHOLDS_DB[precision]`` (FP16 45 dB, INT8 32 dB).
    With ``accept_quality_loss`` a failing model is reported, not raised.
    """
    if precision not in DEFAULT_THRESHOLDS_DB:
        raise UserError(f"precision must be one of {sorted(DEFAULT_THRESHOLDS_DB)}, got {precision!r}")
    if len(held_out) == 0:
        raise UserError("the quality gate needs at least one held-out window")
    threshold = DEFAULT_THRESHOLDS_DB[precision] if threshold_db is None else threshold_db
    report = compare_outputs(
        model_outputs(fp32_onnx, held_out),
        model_outputs(low_onnx, held_out),
        precision,
        threshold,
        accept_quality_loss,
    )
    if not report.passed and not accept_quality_loss:
        raise QualityGateError(report)
    return report
