"""The quality gate: numbers, threshold, the error a failing model raises, explicit acceptance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stmfnet_trt.calibration import DEFAULT_THRESHOLDS_DB, QualityGateError, quality_gate
from stmfnet_trt.calibration.quality import compare_outputs
from stmfnet_trt.core.errors import UserError


def test_compare_outputs_reports_psnr_worst_window_and_max_abs():
    reference = np.zeros((2, 3, 4, 4), np.float32)
    candidate = reference.copy()
    candidate[1] += 0.01  # window 1: MSE 1e-4 -> 40 dB; overall MSE 5e-5 -> 43 dB
    report = compare_outputs(reference, candidate, "int8", 32.0)
    assert report.psnr_db == pytest.approx(10 * math.log10(1 / 5e-5), abs=1e-3)
    assert report.worst_window_psnr_db == pytest.approx(40.0, abs=1e-3)
    assert report.max_abs == pytest.approx(0.01) and report.windows == 2 and report.passed
    assert compare_outputs(reference, reference, "fp16", 45.0).psnr_db == math.inf


def test_a_model_below_the_threshold_fails_with_its_numbers(exported, int8_models, demo_windows):
    with pytest.raises(
        QualityGateError, match=r"int8 vs fp32 on 1 held-out window\(s\): PSNR 3\d\.\d\d dB"
    ) as caught:
        quality_gate(
            exported["plugin"], int8_models["plugin"], demo_windows.held_out[:1], "int8", threshold_db=80
        )
    report = caught.value.report
    assert isinstance(caught.value, UserError) and not report.passed and report.threshold_db == 80
    assert "threshold 80 dB: FAILED" in str(caught.value) and "accept_quality_loss" in str(caught.value)
    accepted = quality_gate(
        exported["plugin"],
        int8_models["plugin"],
        demo_windows.held_out[:1],
        "int8",
        threshold_db=80,
        accept_quality_loss=True,
    )
    assert not accepted.passed and accepted.accepted_loss and accepted.psnr_db == report.psnr_db
    assert "accepted below threshold" in accepted.summary()


def test_gate_defaults_and_bad_arguments(exported, demo_windows):
    assert DEFAULT_THRESHOLDS_DB == {"fp16": 45.0, "int8": 32.0}
    with pytest.raises(UserError, match="precision must be one of"):
        quality_gate(exported["plugin"], exported["plugin"], demo_windows.held_out, "fp8")
    with pytest.raises(UserError, match="at least one held-out window"):
        quality_gate(exported["plugin"], exported["plugin"], demo_windows.held_out[:0], "int8")
