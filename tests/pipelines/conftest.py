"""Fixtures of the pipeline tests: the demo model and a small input clip."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
from pipeline_helpers import ASSETS, TIMEOUT_S


@pytest.fixture(scope="session")
def demo_onnx() -> Path:
    """The demo weights' ONNX graph as `run` would use it (exported once into the user cache)."""
    from stmfnet_trt.export.cache import cached_onnx
    from stmfnet_trt.plugins import default_ort_variant as _default_variant
    from stmfnet_trt.weights import resolve_checkpoint

    return cached_onnx(resolve_checkpoint(None), _default_variant(), progress=False)


@pytest.fixture()
def in_mp4(tmp_path: Path) -> Path:
    """in.mp4 for the README commands: 6 frames of carphone at 96x72, H.264 constrained baseline."""
    path = tmp_path / "in.mp4"
    command = "ffmpeg -v error -i {} -frames:v 6 -vf scale=96:72 -c:v libx264 -profile:v baseline {}"
    subprocess.run(
        shlex.split(command.format(ASSETS / "carphone_12.mp4", path)), check=True, timeout=TIMEOUT_S
    )
    return path
