"""The ``stmfnet-trt`` entry point starts NumPy with one BLAS thread, unless the user chose a number,
and the library alone leaves the setting to the program that imports it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

THREADS = "import os, sys; print(len(os.listdir('/proc/self/task')), os.environ.get('OPENBLAS_NUM_THREADS'))"


def child(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"} | env
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc (Linux)")
def test_the_command_starts_numpy_with_one_blas_thread():
    assert child(f"import stmfnet_trt.console, numpy; {THREADS}") == ["1", "1"]  # the main thread alone
    assert child(f"import stmfnet_trt.console, numpy; {THREADS}", OPENBLAS_NUM_THREADS="2")[1] == "2"
    assert child(f"import stmfnet_trt, stmfnet_trt.cli, numpy; {THREADS}")[1] == "None"  # the library


def test_the_installed_command_is_the_console_entry_point():
    script = Path(sysconfig.get_path("scripts")) / "stmfnet-trt"
    assert "from stmfnet_trt.console import main" in script.read_text()
