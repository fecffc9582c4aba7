"""Real TensorRT-RTX engine builds on this CPU-only machine: our graphs and plugin parse and build.

TensorRT-RTX compiles ahead of time for chosen compute capabilities without a GPU, so CI proves
on every commit that the exported graph and the plugin library build into engines. Running an
engine needs an RTX GPU (tests marked ``gpu`` elsewhere).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import onnx
import pytest

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.engine.build import build_engine
from stmfnet_trt.engine.request import BuildRequest, ProfileShapes
from stmfnet_trt.engine.sidecar import read_sidecar, sidecar_path
from stmfnet_trt.plugins import trt_plugin_library_path

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorrt_rtx") is None,
    reason="tensorrt_rtx not installed (pip install tensorrt-rtx-cu13)",
)
SMALL_PROFILE = "1x128x128:1x128x128:1x256x256"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STMFNET_TRT_CACHE", str(tmp_path / "cache"))


def rtx_request(onnx_path: Path, **changes) -> BuildRequest:
    fields = dict(
        flavour="rtx",
        onnx=str(onnx_path),
        plugin=str(trt_plugin_library_path()),
        profiles=[ProfileShapes.parse(SMALL_PROFILE)],
        rtx_targets=[86, 89],
    )
    fields.update(changes)
    return BuildRequest(**fields)


def engine_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".plan", ".json") or ".partial" in p.name)


def test_plugin_variant_builds_with_six_plugin_layers_and_is_cached(exported, tmp_path):
    output = tmp_path / "out" / "model.plan"
    output.parent.mkdir()
    result = build_engine(rtx_request(exported["plugin"]), output)
    assert not result.from_cache and output.is_file()
    info = read_sidecar(output)
    assert info == result.sidecar
    assert info["flavour"] == "rtx" and info["rtx_targets"] == [86, 89] and info["precision"] == "fp32"
    assert info["plugin_layers"] == 6 and info["layers"]["CONVOLUTION"] > 100
    assert info["profiles"] == [SMALL_PROFILE] and len(info["engine_sha256"]) == 64
    assert output.stat().st_size > trt_plugin_library_path().stat().st_size  # the plugin is embedded
    assert engine_files(output.parent) == ["model.plan", "model.plan.json"]

    again = build_engine(rtx_request(exported["plugin"]), tmp_path / "second.plan")
    assert again.from_cache and again.sidecar["engine_sha256"] == info["engine_sha256"]
    changed = build_engine(rtx_request(exported["plugin"], rtx_targets=[86]), None)
    assert not changed.from_cache and changed.sidecar["rtx_targets"] == [86]


def test_corrupt_onnx_gives_a_clear_error_and_no_engine(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage" * 50)
    output = tmp_path / "model.plan"
    with pytest.raises(UserError, match="engine build failed, nothing written: ONNX parser"):
        build_engine(rtx_request(broken), output)
    assert not output.exists() and not sidecar_path(output).exists()


def test_wrong_plugin_attribute_is_refused(exported, tmp_path):
    model = onnx.load(str(exported["plugin"]))
    warp = next(n for n in model.graph.node if n.op_type == "AdaptiveWarp")
    next(a for a in warp.attribute if a.name == "kernel_size").i = 4
    bad = tmp_path / "even_k.onnx"
    onnx.save(model, str(bad))
    output = tmp_path / "model.plan"
    with pytest.raises(UserError, match="kernel_size must be odd"):
        build_engine(rtx_request(bad), output)
    assert not output.exists()


def test_missing_plugin_library_and_bad_targets(exported, tmp_path):
    with pytest.raises(UserError, match="plugin library not found"):
        build_engine(rtx_request(exported["plugin"], plugin=str(tmp_path / "nope.so")), tmp_path / "m.plan")
    with pytest.raises(UserError, match="TensorRT-RTX targets"):
        build_engine(rtx_request(exported["plugin"], rtx_targets=[90]), tmp_path / "m.plan")
    assert list(tmp_path.glob("*.plan")) == []


@pytest.mark.slow
def test_portable_variant_builds_too(exported, tmp_path):
    """The standard-op graph (600 gathers) builds as well; ~13 min of CPU on 2 cores (measured)."""
    result = build_engine(rtx_request(exported["portable"]), tmp_path / "portable.plan")
    assert result.sidecar["plugin_layers"] == 0 and result.sidecar["layers"]["GATHER"] >= 600
