"""`stmfnet-trt build --precision fp16|int8`: gated low-precision ONNX, then a real engine.

TensorRT-RTX builds on this CPU-only machine, so the FP16 (casts) and INT8 (Q/DQ) graphs of the
plugin variant are proven to parse and build with our plugin; the quality gate runs in ONNX
Runtime. Everything runs at 128x128 with a few windows of the bundled clip to stay fast.
"""

from __future__ import annotations

import importlib.util
import json
import time

import onnx
import pytest

from stmfnet_trt.calibration.precision import META_PRECISION
from stmfnet_trt.cli import main
from stmfnet_trt.engine.sidecar import read_sidecar
from stmfnet_trt.model.checkpoint import file_sha256

HAS_RTX = importlib.util.find_spec("tensorrt_rtx") is not None
needs_rtx = pytest.mark.skipif(
    not HAS_RTX, reason="tensorrt_rtx not installed (pip install tensorrt-rtx-cu13)"
)
SMALL = ["--shapes", "1x128x128:1x128x128:1x256x256"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One private cache for the module: the second builds must find the first ones' files."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def private_cache(cache, monkeypatch):
    monkeypatch.setenv("STMFNET_TRT_CACHE", str(cache))


def int8_args(exported, assets_dir, output) -> list[str]:
    return [
        "build", str(exported["plugin"]), "--precision", "int8", "--calib", str(assets_dir / "demo.mp4"),
        "--calib-windows", "3", "--held-out", "2", *SMALL, "--target", "rtx", "-o", str(output),
    ]  # fmt: skip


@needs_rtx
def test_int8_engine_holds_qdq_and_the_plugin_and_is_cached(exported, assets_dir, tmp_path, capsys, cache):
    source_digest = file_sha256(exported["plugin"])
    output = tmp_path / "engines" / "int8.plan"  # the folder is created
    assert main(int8_args(exported, assets_dir, output)) == 0
    printed = capsys.readouterr().out
    assert "quality gate, ONNX Runtime on the CPU: int8 vs fp32 on 2 held-out window(s)" in printed
    assert "passed" in printed and "quality gate on the engine skipped" in printed
    info = read_sidecar(output)
    assert info["precision"] == "int8" and info["plugin_layers"] == 6 and info["rtx_targets"] == [86, 89]
    assert info["layers"]["QUANTIZE"] > 150 and info["layers"]["DEQUANTIZE"] == info["layers"]["QUANTIZE"]
    provenance = info["provenance"]
    assert provenance["source_onnx_sha256"] == source_digest == file_sha256(exported["plugin"])
    assert provenance["calibration"] == {"source": str(assets_dir / "demo.mp4"), "windows": 3, "held_out": 2}
    assert info["onnx_sha256"] != source_digest  # the engine was built from the INT8 graph
    (numbers,) = (cache / "onnx" / "precision").glob("*-int8.json")  # the gate's numbers, cached
    assert json.loads(numbers.read_text())["windows"] == 2

    start = time.monotonic()
    assert main([*int8_args(exported, assets_dir, tmp_path / "again.plan")]) == 0
    again = capsys.readouterr().out
    assert "int8 model (from the cache)" in again and "from the engine cache" in again
    assert time.monotonic() - start < 20  # no calibration, no build
    assert read_sidecar(tmp_path / "again.plan")["engine_sha256"] == info["engine_sha256"]


@needs_rtx
def test_fp16_engine_without_calibration_frames(exported, tmp_path, capsys):
    output = tmp_path / "fp16.plan"
    args = [
        "build",
        str(exported["plugin"]),
        "--precision",
        "fp16",
        "--held-out",
        "1",
        *SMALL,
        "--target",
        "rtx",
    ]
    assert main([*args, "-o", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "of smooth random frames at 128x128" in printed and "threshold 45 dB: passed" in printed
    info = read_sidecar(output)
    assert info["precision"] == "fp16" and info["plugin_layers"] == 6 and info["layers"]["CAST"] > 10


@needs_rtx
def test_gate_failure_writes_nothing_until_the_loss_is_accepted(exported, assets_dir, tmp_path, capsys):
    output = tmp_path / "strict.plan"
    strict = [*int8_args(exported, assets_dir, output), "--min-psnr", "99"]
    assert main(strict) == 2
    error = capsys.readouterr().err
    assert "int8 vs fp32" in error and "threshold 99 dB: FAILED" in error and "accept" in error
    assert list(tmp_path.iterdir()) == []
    assert main([*strict, "--accept-quality-loss"]) == 0
    printed = capsys.readouterr().out
    assert "(from the cache)" in printed and "accepted below threshold" in printed and output.is_file()


def test_onnx_only_writes_the_gated_model(exported, assets_dir, tmp_path, capsys):
    output = tmp_path / "int8.onnx"
    args = int8_args(exported, assets_dir, output)
    assert main([*args, "--onnx-only"]) == 0
    model = onnx.load(str(output))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta[META_PRECISION] == "int8"
    assert sum(n.op_type == "QuantizeLinear" for n in model.graph.node) > 150
    assert sum(n.op_type == "AdaptiveWarp" for n in model.graph.node) == 6
    assert main([*args, "--onnx-only"]) == 2  # exists, no --overwrite
    assert "already exists; choose another name or allow overwriting (--overwrite)" in capsys.readouterr().err


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="full TensorRT is installed here"
)
def test_without_tensorrt_the_gated_model_is_kept_and_named(exported, assets_dir, tmp_path, capsys):
    args = int8_args(exported, assets_dir, tmp_path / "classic.plan")
    assert main([*args[:-4], "--target", "tensorrt", "-o", str(tmp_path / "classic.plan")]) == 2
    error = capsys.readouterr().err
    assert "needs the tensorrt module" in error and "passed its gate and is kept" in error
    kept = error.split("is kept: ")[1].split(" ")[0]
    assert kept.endswith("-int8.onnx") and onnx.load(kept).graph.node
    assert not (tmp_path / "classic.plan").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--precision", "int8"], "INT8 is calibrated on your own frames: pass --calib"),
        (["--precision", "int8", "--calib", "missing.mp4"], "calibration source not found: missing.mp4"),
        (["--precision", "fp32", "--onnx-only"], "--onnx-only writes an FP16 or INT8 ONNX"),
    ],
)
def test_bad_precision_requests_are_refused_before_any_work(exported, tmp_path, capsys, extra, message):
    output = tmp_path / "x.plan"
    assert main(["build", str(exported["plugin"]), *extra, *SMALL, "--target", "rtx", "-o", str(output)]) == 2
    assert message in capsys.readouterr().err
    assert not output.exists()


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_cpu_variant_is_refused_before_any_work(exported, assets_dir, tmp_path, capsys, precision):
    output = tmp_path / "x.plan"
    calib = ["--calib", str(assets_dir / "demo.mp4")] if precision == "int8" else []
    command = ["build", str(exported["cpu"]), "--precision", precision, *calib, *SMALL, "--target", "rtx"]
    assert main([*command, "-o", str(output)]) == 2
    assert "cpu export variant: its UpsampleConv3x3 nodes run only in ONNX Runtime" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_refused_before_calibration(exported, assets_dir, tmp_path, capsys):
    output = tmp_path / "taken.plan"
    output.write_bytes(b"user data")
    start = time.monotonic()
    assert main(int8_args(exported, assets_dir, output)) == 2
    assert "already exists; choose another name or allow overwriting (--overwrite)" in capsys.readouterr().err
    assert time.monotonic() - start < 5 and output.read_bytes() == b"user data"


def _gpu_sm() -> int:
    from stmfnet_trt.runtime.cuda.memory import current_device

    return int(current_device()["compute_capability"].replace(".", ""))


@pytest.mark.gpu
@pytest.mark.parametrize("target", ["tensorrt", "rtx"])
@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_engine_on_the_gpu_passes_the_gate_itself(exported, assets_dir, tmp_path, capsys, target, precision):
    """Where a GPU exists: the built engine runs on the held-out windows and meets the gate."""
    from stmfnet_trt.core.flavours import RTX_TARGETS

    module = {"tensorrt": "tensorrt", "rtx": "tensorrt_rtx"}[target]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    sm = _gpu_sm()
    if target == "rtx" and sm not in RTX_TARGETS:
        pytest.skip(f"TensorRT-RTX has no target for this GPU (sm_{sm})")
    output = tmp_path / f"{target}_{precision}.plan"
    args = [*int8_args(exported, assets_dir, output)[:-4], "--target", target, "-o", str(output)]
    args[args.index("int8")] = precision
    assert main([*args, *(["--sm", str(sm)] if target == "rtx" else [])]) == 0
    engine_line = capsys.readouterr().out.split("quality gate, the engine itself: ")[1].splitlines()[0]
    assert engine_line.startswith(f"{precision} vs fp32 on 2 held-out window(s)") and "passed" in engine_line
    info = read_sidecar(output)
    assert info["flavour"] == target and info["precision"] == precision and info["plugin_layers"] == 6
