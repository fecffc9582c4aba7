"""The inference paths' own tests, run in a process where ``import torch`` fails.

The ONNX Runtime, TensorRT and Triton-client paths promise to need no torch (an install without
the export extra, a Jetson image). Importing their modules without torch proves little; here
their test modules run under pytest in a child process whose ``sitecustomize``
(tests/support/blocked_imports) makes torch uninstalled. The exports those tests need are made
by this (torch-enabled) process and handed over (``STMFNET_TEST_EXPORTS``); a test that compares
with the PyTorch reference skips itself there, and every skip must say why. The Triton client and
server tests run torch-free anyway: the serving environment has no torch
(tests/serve/test_serve_env.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPORTS_ENV = "STMFNET_TEST_EXPORTS"  # read by tests/conftest.py's ``exported`` fixture
BLOCKER = Path(__file__).parent / "support" / "blocked_imports"
INFERENCE_TESTS = (
    "tests/runtime/backends/test_onnxruntime_backend.py",
    "tests/runtime/backends/test_tiling.py",
    "tests/runtime/backends/test_tensorrt_fakes.py",
    "tests/runtime/backends/test_tensorrt_backend.py",
    "tests/runtime/cuda/test_trt_pipeline.py",
    "tests/runtime/scheduling",
    "tests/api/test_interpolator.py",
)
# Reasons a test may skip in the torch-free run: it needs the reference model, or a GPU / TensorRT.
ALLOWED_SKIPS = re.compile(r"torch|GPU|TensorRT|tensorrt")


def test_the_inference_paths_tests_pass_with_torch_unimportable(exported):
    folder = {Path(path).parent for path in exported.values()}
    assert len(folder) == 1 and all(Path(p).name == f"{v}.onnx" for v, p in exported.items())
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BLOCKER), os.environ.get("PYTHONPATH")])),
        "STMFNET_BLOCK_IMPORTS": "torch",
        EXPORTS_ENV: str(folder.pop()),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *INFERENCE_TESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    tail = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
    assert passed >= 100, tail
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all(ALLOWED_SKIPS.search(line) for line in skips), skips
