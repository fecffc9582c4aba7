"""The ONNX Runtime path run end to end in processes where ``import torch`` fails (issue 20, item 4).

Importing the modules proves little: torch came in through a helper called at run time before
(``file_sha256`` lived in ``model/checkpoint.py``). Here the real commands run, with torch made
uninstalled by a ``sitecustomize`` (tests/support/blocked_imports): ``run`` with an export and
with the cached export of the default weights, ``run`` with the auto backend, ``eval``, and the
one-line refusal where an export would be needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from hostile_cli import assert_one_line_error, cli_env, run_cli

from stmfnet_trt.core.cache import onnx_cache_key
from stmfnet_trt.core.hashing import file_sha256
from stmfnet_trt.io import open_source
from stmfnet_trt.weights import DEMO_CHECKPOINT

BLOCKER = Path(__file__).parent.parent / "support" / "blocked_imports"


def without_torch(cache: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BLOCKER), os.environ.get("PYTHONPATH")])),
        "STMFNET_BLOCK_IMPORTS": "torch",
        "STMFNET_TRT_CACHE": str(cache),
    }


def frames_of(folder: Path) -> list[np.ndarray]:
    """The PNG frames a run wrote: compared as they left the network, no lossy encoder between."""
    with open_source(folder, fps=25) as source:
        return list(source)


def test_the_blocker_really_blocks_torch(tmp_path):
    probe = subprocess.run(
        [sys.executable, "-c", "import torch"],
        capture_output=True,
        text=True,
        env=cli_env(**without_torch(tmp_path)),
    )
    assert probe.returncode == 1 and "ModuleNotFoundError: import of torch halted" in probe.stderr


def test_run_and_eval_with_an_export_need_no_torch(tmp_path, short_clip, exported):
    lean = run_cli(
        "run",
        short_clip,
        "-o",
        tmp_path / "lean",
        "--backend",
        "onnxruntime",
        "--onnx",
        exported["cpu"],
        "-q",
        **without_torch(tmp_path / "cache"),
    )
    assert lean.returncode == 0, lean.stderr
    full = run_cli("run", short_clip, "-o", tmp_path / "full", "--onnx", exported["cpu"], "-q")
    assert full.returncode == 0, full.stderr
    lean_frames, full_frames = frames_of(tmp_path / "lean"), frames_of(tmp_path / "full")
    assert len(lean_frames) == len(full_frames) == 12
    pairs = zip(lean_frames, full_frames, strict=True)
    differences = [int(np.abs(a.astype(int) - b).max()) for a, b in pairs]
    assert differences == [0] * 12
    evaluated = run_cli(
        "eval",
        short_clip,
        "--backend",
        "onnxruntime",
        "--onnx",
        exported["cpu"],
        "--no-minterpolate",
        "-q",
        "--json",
        tmp_path / "eval.json",
        **without_torch(tmp_path / "cache"),
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert (tmp_path / "eval.json").is_file()


def test_the_default_weights_run_from_the_cache_without_torch(tmp_path, short_clip, exported):
    """A cache hit (the default weights exported once before) runs with the auto backend."""
    cache = tmp_path / "cache"
    cached = cache / "onnx" / onnx_cache_key(file_sha256(DEMO_CHECKPOINT), "cpu")
    cached.parent.mkdir(parents=True)
    shutil.copy(exported["cpu"], cached)  # stands in for an earlier export: same file contract
    result = run_cli("run", short_clip, "-o", tmp_path / "o.mp4", "-q", **without_torch(cache))
    assert result.returncode == 0, result.stderr


def test_an_export_without_torch_is_one_line_saying_what_to_install(tmp_path, short_clip, data_dir):
    """A checkpoint of the user's (not the bundled default) needs an export, hence torch."""
    result = run_cli(
        "run",
        short_clip,
        "-o",
        tmp_path / "o.mp4",
        "--backend",
        "onnxruntime",
        "--checkpoint",
        data_dir / "student_random_stats.pth",
        **without_torch(tmp_path / "cache"),
    )
    line = assert_one_line_error(result)
    assert "needs the export extra" in line and "--onnx" in line
    assert not (tmp_path / "o.mp4").exists()
