"""Sidecar identity, cache keys and the runtime's mismatch reasons (pure logic, no TensorRT)."""

from __future__ import annotations

import pytest

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.engine import sidecar
from stmfnet_trt.engine.request import BuildRequest, ProfileShapes


@pytest.fixture
def request_files(tmp_path):
    onnx, plugin = tmp_path / "m.onnx", tmp_path / "lib.so"
    onnx.write_bytes(b"onnx bytes")
    plugin.write_bytes(b"plugin bytes")
    return onnx, plugin


def make_request(onnx, plugin, **changes) -> BuildRequest:
    fields = dict(
        flavour="rtx",
        onnx=str(onnx),
        plugin=str(plugin),
        profiles=[ProfileShapes.parse("1x128x128:1x256x256:2x512x512")],
    )
    fields.update(changes)
    return BuildRequest(**fields)


def test_profile_parsing_and_validation():
    profile = ProfileShapes.parse("1x128x256:2x256x256:4x512x1024")
    assert profile.min == (1, 128, 256) and profile.max == (4, 512, 1024)
    assert profile.input_shapes()["frame2"] == ((1, 3, 128, 256), (2, 3, 256, 256), (4, 3, 512, 1024))
    assert str(profile) == "1x128x256:2x256x256:4x512x1024"
    for bad in ("1x100x128:1x128x128:1x128x128", "1x256x256:1x128x128:1x512x512", "1x128x128", "axbxc"):
        with pytest.raises(UserError):
            ProfileShapes.parse(bad)


def test_request_round_trips_through_json(request_files):
    request = make_request(*request_files, precision="fp16", rtx_targets=[86, 120])
    assert BuildRequest.from_json(request.to_json()) == request


def test_cache_key_changes_with_every_identity_input(request_files, tmp_path):
    onnx, plugin = request_files
    base = sidecar.identity(make_request(onnx, plugin), "1.7", {})
    key = sidecar.cache_key(base)
    assert key == sidecar.cache_key(sidecar.identity(make_request(onnx, plugin), "1.7", {}))
    variants = [
        sidecar.identity(make_request(onnx, plugin), "1.8", {}),
        sidecar.identity(make_request(onnx, plugin, precision="fp16"), "1.7", {}),
        sidecar.identity(make_request(onnx, plugin, rtx_targets=[86]), "1.7", {}),
        sidecar.identity(
            make_request(onnx, plugin, profiles=[ProfileShapes.parse("1x128x128:1x128x128:1x256x256")]),
            "1.7",
            {},
        ),
        sidecar.identity(make_request(onnx, plugin, embed_plugin=False), "1.7", {}),
    ]
    plugin.write_bytes(b"rebuilt plugin")
    variants.append(sidecar.identity(make_request(onnx, plugin), "1.7", {}))
    keys = {sidecar.cache_key(v) for v in variants}
    assert key not in keys and len(keys) == len(variants)


def test_mismatch_reasons():
    rtx = {"flavour": "rtx", "tensorrt_version": "1.7.1", "rtx_targets": [86, 89], "plugin_sha256": "aa"}
    assert (
        sidecar.mismatches(rtx, {"flavour": "rtx", "tensorrt_version": "1.7.1", "compute_capability": "8.9"})
        == []
    )
    reasons = sidecar.mismatches(
        rtx, {"tensorrt_version": "1.8.0", "compute_capability": "12.0", "plugin_sha256": "bb"}
    )
    assert len(reasons) == 3
    assert any("sm_120 is not among the engine's targets [86, 89]" in r for r in reasons)
    classic = {"flavour": "tensorrt", "tensorrt_version": "10.3", "gpu": "Orin", "compute_capability": "8.7"}
    assert sidecar.mismatches(classic, {"compute_capability": "8.7"}) == []
    assert (
        "built on Orin (8.7), this GPU is 9.0"
        in sidecar.mismatches(classic, {"compute_capability": "9.0"})[0]
    )
