"""``bench --polygraphy``: the same timings through ``polygraphy run``, NVIDIA's own harness.

Useful as an independent check of our numbers, and it is what users already script. ONNX
Runtime (``--onnxrt``) runs standard-op graphs only: Polygraphy cannot register our custom-op
library with ORT, so the plugin variant is timed on TensorRT (``--trt --plugins``, GPU only).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from stmfnet_trt.core.contract import INPUT_NAMES
from stmfnet_trt.core.errors import Param, UserError

AVERAGE = re.compile(r"Average inference time:\s*([0-9.]+)\s*ms")


def polygraphy_command(
    model: Path,
    runner: str,
    shape: tuple[int, int, int],
    warmup: int,
    iterations: int,
    plugin: Path | None = None,
) -> list[str]:
    """``polygraphy run`` for one input shape (N, H, W); ``runner`` is "onnxrt" or "trt"."""
    # Next to this interpreter first: a venv's bin/ is often not on PATH.
    beside = Path(sys.executable).with_name("polygraphy")
    executable = str(beside) if beside.is_file() else shutil.which("polygraphy")
    if executable is None:
        raise UserError(Param("polygraphy"), " needs the polygraphy command: pip install polygraphy")
    batch, height, width = shape
    command = [
        executable,
        "run",
        str(model),
        f"--{runner}",
        "--sequential-runners",
        "--warm-up",
        str(warmup),
        "--iterations",
        str(iterations),
        "--val-range",
        "[0,1]",
        "--input-shapes",
    ]
    command += [f"{name}:[{batch},3,{height},{width}]" for name in INPUT_NAMES]
    if runner == "trt":
        if plugin is None:
            raise UserError(Param("polygraphy"), " on TensorRT needs the plugin library")
        command += ["--plugins", str(plugin)]
        if model.suffix in (".plan", ".engine"):
            command += ["--model-type", "engine"]
    return command


def polygraphy_average_seconds(command: list[str], timeout_s: float = 3600) -> float:
    """Run Polygraphy and return its average inference time in seconds."""
    process = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    output = process.stdout + process.stderr
    match = AVERAGE.search(output)
    if process.returncode != 0 or match is None:
        raise UserError(f"polygraphy run failed (exit {process.returncode}):\n{output[-1500:]}")
    return float(match.group(1)) / 1000
