"""What the hostile-use tests share: the CLI in a subprocess, clips and forged ONNX files made
here, one-line checks.

A plain module beside the tests (imported as ``hostile_cli``), not a package: a ``tests``
package on ``sys.path`` would let test folders shadow installed packages of the same name.

The CLI runs in a real subprocess wherever signals, exit statuses or stderr are the point: that
is what a user or a supervisor sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from stmfnet_trt.core.contract import (
    CONTRACT_TEXT,
    INPUT_NAMES,
    META_CHECKPOINT_SHA256,
    META_CONTRACT,
    META_VARIANT,
    OUTPUT_NAME,
)
from stmfnet_trt.io import open_sink

USER_ERROR = 2
CLI = [sys.executable, "-m", "stmfnet_trt.cli"]


def cli_env(**extra: str) -> dict[str, str]:
    """The test's environment, unbuffered, plus ``extra`` (a private STMFNET_TRT_CACHE where a
    cache matters)."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=cli_env(**env), timeout=timeout
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *, status: int = USER_ERROR) -> str:
    """Exit ``status`` with one ``error:`` line on stderr and no traceback; returns that line.

    Warnings logged before the error (e.g. an assumed frame rate) may precede it.
    """
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    return errors[0]


def hidden_leftovers(folder: Path) -> list[str]:
    """Temporaries and locks of ours that a finished or failed run must not leave."""
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name or p.name.endswith("-lock"))


def write_clip(path: Path, frames: int, size: tuple[int, int] = (144, 176), seed: int = 0) -> Path:
    """A clip of smooth moving noise (no scene cuts, no identical pairs) at 25 fps."""
    height, width = size
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (height // 8 + 2, width // 8 + frames + 2, 3), np.uint8)
    texture = base.repeat(8, axis=0).repeat(8, axis=1)
    with open_sink(path, width, height, Fraction(25)) as sink:
        for index in range(frames):
            sink.write(np.ascontiguousarray(texture[:height, 2 * index : 2 * index + width]))
    return path


STAMP = {META_VARIANT: "portable", META_CHECKPOINT_SHA256: "ab" * 32, META_CONTRACT: CONTRACT_TEXT}


def foreign_onnx(
    path: Path,
    *,
    maths: str = "copy",
    names: tuple[str, ...] = INPUT_NAMES,
    output_type: int = TensorProto.FLOAT,
    metadata: dict[str, str] | None = None,
) -> Path:
    """A graph with the contract's tensors (or not) and other maths: ``copy`` returns frame1,
    ``nan`` returns frame1 * NaN."""
    dims = ["N", 3, "H", "W"]
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, dims) for name in names]
    output = helper.make_tensor_value_info(OUTPUT_NAME, output_type, dims)
    nodes, initializers = [], []
    if maths == "nan":
        initializers.append(helper.make_tensor("poison", TensorProto.FLOAT, [], [float("nan")]))
        nodes.append(helper.make_node("Mul", [names[1], "poison"], ["scaled"]))
    else:
        nodes.append(helper.make_node("Identity", [names[1]], ["scaled"]))
    cast_to = output_type
    nodes.append(helper.make_node("Cast", ["scaled"], [OUTPUT_NAME], to=cast_to))
    graph = helper.make_graph(nodes, "foreign", inputs, [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path
