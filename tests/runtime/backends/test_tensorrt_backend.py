"""TensorRT backend: the engine checks that run anywhere, and the GPU run where one exists."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from stmfnet_trt.cli import main
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.backends.tensorrt_backend import check_engine


def _has_gpu() -> bool:
    try:
        from stmfnet_trt.runtime.cuda.memory import current_device

        current_device()
    except Exception:
        return False
    return True


ENGINE_BYTES = b"engine bytes"
RTX_SIDECAR = {
    "flavour": "rtx",
    "tensorrt_version": "1.7.1",
    "rtx_targets": [86, 89],
    "plugin_sha256": "a" * 64,
    "profiles": ["1x128x128:1x256x256:2x512x512"],
    "engine_sha256": hashlib.sha256(ENGINE_BYTES).hexdigest(),
}


def engine_with_sidecar(tmp_path, sidecar: dict | None):
    engine = tmp_path / "model.plan"
    engine.write_bytes(ENGINE_BYTES)
    if sidecar is not None:
        (tmp_path / "model.plan.json").write_text(json.dumps(sidecar))
    return engine


def test_matching_engine_is_accepted(tmp_path):
    engine = engine_with_sidecar(tmp_path, RTX_SIDECAR)
    here = {
        "flavour": "rtx",
        "tensorrt_version": "1.7.1",
        "plugin_sha256": "a" * 64,
        "compute_capability": "8.6",
    }
    assert check_engine(engine, here) == RTX_SIDECAR


def test_engine_for_other_targets_or_plugin_is_refused_with_reasons(tmp_path):
    engine = engine_with_sidecar(tmp_path, RTX_SIDECAR)
    here = {
        "flavour": "rtx",
        "tensorrt_version": "1.7.1",
        "plugin_sha256": "b" * 64,
        "compute_capability": "12.0",
    }
    with pytest.raises(UserError) as info:
        check_engine(engine, here)
    assert "sm_120 is not among the engine's targets [86, 89]" in str(info.value)
    assert "plugin_sha256" in str(info.value) and "stmfnet-trt build" in str(info.value)


def test_engine_without_sidecar_or_file_is_refused(tmp_path):
    with pytest.raises(UserError, match="has no sidecar"):
        check_engine(engine_with_sidecar(tmp_path, None), {})
    with pytest.raises(UserError, match="engine not found"):
        check_engine(tmp_path / "absent.plan", {})


def test_cli_without_gpu_or_engine_fails_cleanly(tmp_path, assets_dir, capsys):
    clip, output = assets_dir / "carphone_12.mp4", tmp_path / "out.mp4"
    if not _has_gpu():  # without --engine, run builds one for the clip: that needs a GPU
        args = ["run", str(clip), "-o", str(output), "--backend", "tensorrt", "--random-init"]
        assert main(args) == 2
        assert "needs an NVIDIA GPU" in capsys.readouterr().err
    assert main(["eval", str(clip), "--backend", "tensorrt", "--no-minterpolate"]) == 2
    assert "--engine is needed: an engine file" in capsys.readouterr().err
    engine = engine_with_sidecar(tmp_path, RTX_SIDECAR)
    assert main(["run", str(clip), "-o", str(output), "--backend", "tensorrt", "--engine", str(engine)]) == 2
    err = capsys.readouterr().err
    assert "GPU" in err or "not installed" in err or "cuda-python" in err
    assert not output.exists()


def test_cli_refuses_an_altered_engine_before_anything_else(tmp_path, assets_dir, capsys):
    """`run --engine` (and `serve`, through the same backend) on an engine whose bytes do not
    match its sidecar: one line, exit 2, whether or not this machine has a GPU."""
    engine = engine_with_sidecar(tmp_path, RTX_SIDECAR)
    engine.write_bytes(ENGINE_BYTES + b" and a payload")
    output = tmp_path / "out.mp4"
    args = ["run", str(assets_dir / "carphone_12.mp4"), "-o", str(output), "--backend", "tensorrt"]
    assert main([*args, "--engine", str(engine)]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not match the engine_sha256 of model.plan.json" in err and len(err.splitlines()) == 1
    assert not output.exists()


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_classic_engine_matches_onnxruntime(exported, tmp_path):
    """On a machine with TensorRT and a GPU: build the plugin variant, run it, compare with ORT."""
    from stmfnet_trt.core.frames import random_frames
    from stmfnet_trt.engine.build import build_engine
    from stmfnet_trt.engine.request import BuildRequest, ProfileShapes
    from stmfnet_trt.plugins import trt_plugin_library_path
    from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions
    from stmfnet_trt.runtime.backends.tensorrt_backend import TensorRTBackend, TensorRTOptions

    request = BuildRequest(
        flavour="tensorrt",
        onnx=str(exported["plugin"]),
        plugin=str(trt_plugin_library_path()),
        profiles=[ProfileShapes.parse("1x128x128:1x256x256:2x512x512")],
    )
    engine = build_engine(request, tmp_path / "model.plan").engine
    windows = random_frames((2, 4, 3, 200, 300), seed=3)
    with TensorRTBackend(TensorRTOptions(engine)) as trt_backend:
        first = trt_backend.interpolate(windows)
        second = trt_backend.interpolate(windows[:1, :, :, :128, :128])  # shape change between runs
    reference = OnnxRuntimeBackend(OnnxRuntimeOptions(exported["plugin"])).interpolate(windows)
    assert np.abs(first - reference).max() <= 1e-4
    assert second.shape == (1, 3, 128, 128)


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_pipeline_matches_onnxruntime_and_keeps_the_gpu_busy(exported, tmp_path):
    """Written, not run here: pipelined x2/x4/x8 against ORT per window, and the GPU's idle share."""
    from stmfnet_trt.core.frames import random_frames
    from stmfnet_trt.engine.build import build_engine
    from stmfnet_trt.engine.request import BuildRequest, ProfileShapes
    from stmfnet_trt.plugins import trt_plugin_library_path
    from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions
    from stmfnet_trt.runtime.backends.tensorrt_backend import StreamLauncher, TensorRTBackend, TensorRTOptions
    from stmfnet_trt.runtime.cuda.trt_pipeline import DeviceFramePipeline, idle_fraction
    from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
    from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_stream

    request = BuildRequest(
        flavour="tensorrt",
        onnx=str(exported["plugin"]),
        plugin=str(trt_plugin_library_path()),
        profiles=[ProfileShapes.parse("1x256x256:4x256x256:4x256x256")],
    )
    engine = build_engine(request, tmp_path / "model.plan").engine
    frames = list(random_frames((24, 3, 200, 230), seed=5))
    no_cuts = SceneCutDetector(enabled=False)
    reference = OnnxRuntimeBackend(OnnxRuntimeOptions(exported["plugin"]))
    # x2 on the whole clip; x4/x8 (levels at once, each on its own execution context) on a part.
    runs = {2: frames, 4: frames[:8], 8: frames[:8]}
    expected = {f: list(interpolate_stream(iter(clip), reference, f, no_cuts, 4)) for f, clip in runs.items()}
    with TensorRTBackend(TensorRTOptions(engine)) as backend:
        got = {f: list(interpolate_stream(iter(clip), backend, f, no_cuts, 4)) for f, clip in runs.items()}
        launcher = StreamLauncher(backend.new_context(), backend.binding)
        pipeline = DeviceFramePipeline(backend.binding, launcher, 200, 230, 4, measure=True)
        try:
            list(pipeline.double_frame_rate(iter(frames * 4), no_cuts, SchedulerStats()))
            idle = idle_fraction(pipeline.launch_intervals())
        finally:
            pipeline.close()
    for factor in runs:
        pairs = zip(got[factor], expected[factor], strict=True)
        assert max(float(np.abs(a - b).max()) for a, b in pairs) <= 1e-4, factor
    assert idle < 0.2, f"GPU idle {idle:.0%} of the time between launches"
