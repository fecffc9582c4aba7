"""A build that runs out of workspace is retried with what it asked for, and says what to change.

The real case: ``build --target rtx`` with its default profile (max 1x1152x2048) and workspace
(4096 MiB) made TensorRT-RTX ask for 4.3 GB and return no engine. That build runs here for real,
in a process where torch and cuda-python are not importable (an FP32 build needs neither).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stmfnet_trt.cli.flags import user_message
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.engine import build
from stmfnet_trt.engine.request import BuildRequest, ProfileShapes

RTX_LOG = "[TRT] [E] Error Code 2: OutOfMemory (Requested size was 4302217360 bytes.)"
BLOCKED_IMPORTS = Path(__file__).parent.parent / "support" / "blocked_imports"
DEFAULT_PROFILE = "1x128x128:1x640x1152:1x1152x2048"  # `stmfnet-trt build`'s default --shapes


def test_workspace_asked_for_is_read_from_the_log():
    assert build.workspace_needed_mb(RTX_LOG) == 5120  # 4.0 GiB and a bit: 5 GiB
    assert build.workspace_needed_mb("Error Code 4: API Usage Error") is None


def make_request(tmp_path: Path, workspace_mb: int = 4096) -> BuildRequest:
    onnx, plugin = tmp_path / "m.onnx", tmp_path / "p.so"
    onnx.write_bytes(b"onnx")
    plugin.write_bytes(b"plugin")
    profile = ProfileShapes.parse(DEFAULT_PROFILE)
    return BuildRequest("rtx", str(onnx), str(plugin), [profile], workspace_mb=workspace_mb)


def test_retry_with_the_asked_workspace_then_a_one_line_fix(tmp_path, monkeypatch, capsys):
    tries: list[int] = []

    def worker(request: BuildRequest, engine: Path):
        tries.append(request.workspace_mb)
        if request.workspace_mb < 5120:
            raise build.WorkspaceShortfall(5120, RTX_LOG)
        return {"layers": {}}, "log"

    monkeypatch.setattr(build, "_run_worker", worker)
    assert build._build_with_workspace(make_request(tmp_path), tmp_path / "e.plan")[2] == 5120
    assert tries == [4096, 5120]
    assert "retrying with 5120 MiB (pass --workspace 5120" in capsys.readouterr().err

    def always_short(request: BuildRequest, engine: Path):
        raise build.WorkspaceShortfall(request.workspace_mb + 1024, RTX_LOG)

    monkeypatch.setattr(build, "_run_worker", always_short)
    with pytest.raises(UserError) as info:
        build._build_with_workspace(make_request(tmp_path), tmp_path / "e.plan")
    first_line = str(info.value).splitlines()[0]
    assert "needs 6144 MiB of workspace and had 5120 MiB: pass workspace_mb=6144" in first_line
    assert "lower the profile's largest shape (shapes, now (1, 1152, 2048))" in first_line
    cli_line = user_message(info.value).splitlines()[0]  # the CLI's reading
    assert "needs 6144 MiB of workspace and had 5120 MiB: pass --workspace 6144" in cli_line
    assert "lower the profile's largest shape (--shapes, now (1, 1152, 2048))" in cli_line


@pytest.mark.skipif(importlib.util.find_spec("tensorrt_rtx") is None, reason="tensorrt_rtx not installed")
def test_rtx_build_with_the_default_profile_and_workspace_succeeds(exported, tmp_path):
    """Real TensorRT-RTX, no torch and no cuda-python in the building processes."""
    from stmfnet_trt.plugins import trt_plugin_library_path

    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from stmfnet_trt.engine.build import build_engine\n"
        "from stmfnet_trt.engine.request import BuildRequest, ProfileShapes\n"
        "request = BuildRequest('rtx', sys.argv[1], sys.argv[2], [ProfileShapes.parse(sys.argv[3])])\n"
        "result = build_engine(request, Path(sys.argv[4]))\n"
        "assert sys.modules['torch'] is None and sys.modules['cuda'] is None\n"
        "print(json.dumps(result.sidecar))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(BLOCKED_IMPORTS),
        "STMFNET_BLOCK_IMPORTS": "torch,cuda,cuda.bindings",
        "STMFNET_TRT_CACHE": str(tmp_path / "cache"),
    }
    args = [exported["plugin"], trt_plugin_library_path(), DEFAULT_PROFILE, tmp_path / "model.plan"]
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sidecar = json.loads(result.stdout.splitlines()[-1])
    assert sidecar["workspace_mb_used"] > 4096 and sidecar["plugin_layers"] == 6
    assert "retrying with" in result.stderr
    assert (tmp_path / "model.plan").is_file()
