"""Engine files for the fakes: bytes plus the sidecar ``stmfnet-trt build`` would write for them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from stmfnet_trt.engine.sidecar import sidecar_path
from stmfnet_trt.plugins import trt_plugin_library_path


def write_engine(
    folder: Path,
    data: bytes = b"fake engine",
    flavour: str = "tensorrt",
    version: str = "10.16.1",
    profile: str = "1x128x128:2x256x256:4x512x512",
    name: str = "model.plan",
    **fields,
) -> Path:
    """An engine file and a sidecar that matches it, this machine's plugin and the fake GPU."""
    engine = folder / name
    engine.write_bytes(data)
    sidecar = {
        "flavour": flavour,
        "tensorrt_version": version,
        "gpu": "fake",
        "compute_capability": "8.7",
        "rtx_targets": [87] if flavour == "rtx" else None,
        "plugin_sha256": hashlib.sha256(trt_plugin_library_path().read_bytes()).hexdigest(),
        "profiles": [profile],
        "engine_sha256": hashlib.sha256(data).hexdigest(),
        "precision": "fp32",
        "builder": {"workspace_mb": 4096, "embed_plugin": True, "strongly_typed": True},
        **fields,
    }
    sidecar_path(engine).write_text(json.dumps(sidecar))
    return engine
