"""Engines are code: a sidecar that is missing, unreadable, forged or unmatched refuses the engine
(one line, a UserError), and the engine cache never hands out an entry it cannot verify."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.engine import build, sidecar
from stmfnet_trt.engine.request import BuildRequest, ProfileShapes

DATA = b"engine bytes"
GOOD = {
    "flavour": "tensorrt",
    "tensorrt_version": "10.16.1",
    "profiles": ["1x128x128:1x256x256:2x512x512"],
    "engine_sha256": hashlib.sha256(DATA).hexdigest(),
    "plugin_sha256": "0" * 64,
    "compute_capability": "8.7",
    "rtx_targets": None,
    "layers": {"PLUGIN_V3": 6},
    "builder": {"workspace_mb": 4096, "embed_plugin": False},
}


def engine_with(tmp_path: Path, text: str | None) -> Path:
    engine = tmp_path / "model.plan"
    engine.write_bytes(DATA)
    if text is not None:
        sidecar.sidecar_path(engine).write_text(text)
    return engine


def test_a_matching_sidecar_is_accepted_and_the_old_field_name_read():
    description = sidecar.parse_sidecar(json.dumps(GOOD), Path("x.json"))
    assert description["builder"] == {"workspace_mb": 4096, sidecar.PLUGIN_SERIALIZE_FIELD: False}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "has no sidecar"),
        ("", "is not valid JSON"),
        ("[1, 2]", "is not a JSON object"),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "engine_sha256"}),
            "lacks the field 'engine_sha256'",
        ),
        (json.dumps({**GOOD, "flavour": "tensorrt; rm -rf"}), "field 'flavour' has an invalid value"),
        (json.dumps({**GOOD, "profiles": []}), "field 'profiles' has an invalid value"),
        (
            json.dumps({**GOOD, "profiles": ["1x100x100:1x1x1:0x0x0"]}),
            "field 'profiles' has an invalid value",
        ),
        (json.dumps({**GOOD, "compute_capability": 8.7}), "field 'compute_capability' has an invalid value"),
        (json.dumps({**GOOD, "rtx_targets": ["86"]}), "field 'rtx_targets' has an invalid value"),
        (json.dumps({**GOOD, "layers": {"PLUGIN_V3": "6"}}), "field 'layers' has an invalid value"),
        (json.dumps({**GOOD, "engine_sha256": "0" * 64}), "does not match the engine_sha256"),
    ],
)
def test_bad_sidecars_refuse_the_engine_in_one_line(tmp_path, text, message):
    with pytest.raises(sidecar.EngineTrustError, match=message) as info:
        sidecar.verify_engine(engine_with(tmp_path, text))
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)


def test_bytes_handed_in_are_what_is_verified(tmp_path):
    engine = engine_with(tmp_path, json.dumps(GOOD))
    assert sidecar.verify_engine(engine, DATA)["flavour"] == "tensorrt"
    with pytest.raises(sidecar.EngineTrustError):
        sidecar.verify_engine(engine, DATA + b"!")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt_rtx") is None, reason="tensorrt_rtx not installed")
def test_an_altered_cache_entry_is_rebuilt_not_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("STMFNET_TRT_CACHE", str(tmp_path / "cache"))
    onnx, plugin = tmp_path / "m.onnx", tmp_path / "p.so"
    onnx.write_bytes(b"onnx")
    plugin.write_bytes(b"plugin")
    builds: list[Path] = []

    def worker(request: BuildRequest, engine: Path):
        builds.append(engine)
        engine.write_bytes(b"built engine")
        return {"layers": {"PLUGIN_V3": 6}}, "log"

    monkeypatch.setattr(build, "_run_worker", worker)
    request = BuildRequest(
        "rtx", str(onnx), str(plugin), [ProfileShapes.parse("1x128x128:1x128x128:1x128x128")]
    )
    first = build.build_engine(request, None)
    assert not first.from_cache and first.sidecar["builder"][sidecar.PLUGIN_SERIALIZE_FIELD] is True
    assert build.build_engine(request, None).from_cache
    first.engine.write_bytes(b"a swapped engine")  # someone wrote into the cache
    again = build.build_engine(request, None)
    assert not again.from_cache and again.engine.read_bytes() == b"built engine" and len(builds) == 2


def test_an_unreadable_engine_is_one_line(tmp_path, monkeypatch):
    engine = engine_with(tmp_path, json.dumps(GOOD))

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(sidecar, "file_sha256", denied)
    with pytest.raises(sidecar.EngineTrustError, match=r"cannot read engine .*: Permission denied"):
        sidecar.verify_engine(engine)
