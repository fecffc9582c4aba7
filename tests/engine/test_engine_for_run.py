"""The engine-for-run helper's choices and errors, with this machine's availability patched."""

from __future__ import annotations

import importlib.util

import pytest

from stmfnet_trt.cli.flags import user_message
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.engine import for_run as efr

ORIN = {"gpu": "Orin", "compute_capability": "8.7", "integrated": True, "free_bytes": 1 << 30}
RTX4090 = {"gpu": "RTX 4090", "compute_capability": "8.9", "integrated": False, "free_bytes": 1 << 30}


def installed(monkeypatch, *modules):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name in modules else None)


def test_profile_covers_the_padded_frame_and_short_last_batch():
    assert str(efr.run_profile(1080, 1920, 4)) == "1x1152x1920:4x1152x1920:4x1152x1920"


def test_classic_tensorrt_when_installed_else_rtx_for_this_gpu(monkeypatch):
    installed(monkeypatch, "tensorrt", "tensorrt_rtx")
    assert efr.choose_flavour(ORIN) == ("tensorrt", [])
    installed(monkeypatch, "tensorrt_rtx")
    assert efr.choose_flavour(RTX4090) == ("rtx", [89])
    with pytest.raises(UserError, match=r"sm_87\) is not a TensorRT-RTX target"):
        efr.choose_flavour(ORIN)
    installed(monkeypatch)
    with pytest.raises(UserError, match="needs TensorRT"):
        efr.choose_flavour(RTX4090)


def test_no_gpu_is_a_clear_error_before_any_export(monkeypatch, tmp_path):
    monkeypatch.setenv("STMFNET_TRT_CACHE", str(tmp_path))
    with pytest.raises(UserError, match="needs an NVIDIA GPU"):
        efr.engine_for_run(None, 144, 176)
    assert not (tmp_path / "onnx").exists()


@pytest.mark.parametrize(
    "log",
    [
        "Error Code 2: OUT_OF_MEMORY",
        "Error Code 2: OutOfMemory (Requested size was 8 bytes.)",
        "out of memory",
    ],
)
def test_out_of_memory_build_suggests_batch_or_tiling(monkeypatch, log):
    class Binding:
        def device_info(self):
            return RTX4090

    def failing_build(request, output):
        assert request.flavour == "rtx" and request.rtx_targets == [89] and output is None
        raise UserError(f"engine build failed, nothing written: {log}")

    installed(monkeypatch, "tensorrt_rtx")
    monkeypatch.setattr(efr, "select_binding", lambda: Binding())
    monkeypatch.setattr("stmfnet_trt.plugins.trt_plugin_library_path", lambda: "plugin.so")
    monkeypatch.setattr(efr, "plugin_onnx", lambda *a, **k: "model.onnx")
    monkeypatch.setattr(efr, "build_engine", failing_build)
    with pytest.raises(UserError, match=r"smaller batch_size, or tiling \(tiles\) for large frames") as info:
        efr.engine_for_run(None, 1080, 1920, 2, progress=False)
    assert user_message(info.value) == (  # the CLI's reading
        f"engine build failed, nothing written: {log}\nThe GPU ran out of memory building for 1920x1080: "
        "use a smaller --batch-size, or tiling (--tile) for large frames"
    )
