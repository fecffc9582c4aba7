"""The serve extra lives in its own environment (nvidia-pytriton pins numpy<2): find it or skip.

Tests run in the main environment and drive real processes in the serve environment: the
interpreter running the tests if it has pytriton and tritonclient, else ``.venv-serve`` (made by
``scripts/make_serve_env.sh``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVE_VENV_PYTHON = ROOT / ".venv-serve" / "bin" / "python"
_PROBE = "import pytriton.triton, tritonclient.grpc, tritonclient.http"


def _serve_python() -> str | None:
    if all(importlib.util.find_spec(m) for m in ("pytriton", "tritonclient")):
        return sys.executable
    if SERVE_VENV_PYTHON.is_file():
        probe = subprocess.run([str(SERVE_VENV_PYTHON), "-c", _PROBE], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return str(SERVE_VENV_PYTHON)
    return None


@pytest.fixture(scope="session")
def serve_python() -> str:
    python = _serve_python()
    if python is None:
        pytest.skip(
            "the serve extra (nvidia-pytriton + tritonclient, numpy<2) is not installed here: "
            "run scripts/make_serve_env.sh to create .venv-serve"
        )
    return python
