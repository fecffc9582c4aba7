"""scripts/first_gpu_run.sh runs to its report on a machine without a GPU, saying what it skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "first_gpu_run.sh"
GPU_STAGES = ("export", "build-tensorrt", "build-rtx", "tests", "run-x2", "run-x4", "run-x8", "gate", "bench")


def test_without_a_gpu_it_reports_the_environment_and_every_skip(tmp_path):
    if (
        shutil.which("nvidia-smi")
        and subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0
    ):
        pytest.skip("a GPU is visible: there the script runs for real (minutes); run it directly")
    env = {**os.environ, "OUT": str(tmp_path / "out"), "PY": sys.executable}
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| env | passed |" in report and "tensorrt_rtx:" in report and "driver floor:" in report
    for stage in GPU_STAGES:
        assert f"| {stage} | skipped | 0 | no NVIDIA GPU visible" in report, stage
