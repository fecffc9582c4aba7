"""The JSON file beside every engine: what it was built from, for, and how.

A serialized engine only runs with the TensorRT version, GPU (or RTX targets) and plugin build it
was made for; loading a mismatched one fails obscurely or crashes. The runtime reads this file
first and refuses, with the reason, an engine that does not match (``mismatches``). The identity
fields also key the engine cache.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

from .. import __version__
from .request import BuildRequest

SIDECAR_SUFFIX = ".json"
# Fields that decide whether an engine can be reused for a request (the cache key).
IDENTITY_FIELDS = (
    "flavour",
    "tensorrt_version",
    "gpu",
    "compute_capability",
    "rtx_targets",
    "plugin_sha256",
    "onnx_sha256",
    "precision",
    "profiles",
    "builder",
    "stmfnet_trt_version",
)


def sidecar_path(engine: Path) -> Path:
    return engine.with_name(engine.name + SIDECAR_SUFFIX)


def sha256_of(path: str | Path) -> str:
    from ..model.checkpoint import file_sha256

    return file_sha256(path)


def identity(request: BuildRequest, tensorrt_version: str, device: dict[str, str]) -> dict:
    """The identity fields of an engine built for ``request`` on this machine."""
    return {
        "flavour": request.flavour,
        "tensorrt_version": tensorrt_version,
        "gpu": device.get("gpu"),
        "compute_capability": device.get("compute_capability"),
        "rtx_targets": sorted(request.rtx_targets) if request.flavour == "rtx" else None,
        "plugin_sha256": sha256_of(request.plugin),
        "onnx_sha256": sha256_of(request.onnx),
        "precision": request.precision,
        "profiles": [str(p) for p in request.profiles],
        "builder": {
            "workspace_mb": request.workspace_mb,
            "embed_plugin": request.embed_plugin,
            "strongly_typed": True,
        },
        "stmfnet_trt_version": __version__,
    }


def cache_key(fields: dict) -> str:
    canonical = json.dumps({k: fields[k] for k in IDENTITY_FIELDS}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def complete(fields: dict, engine: Path, layers: dict[str, int], provenance: dict | None = None) -> dict:
    """Identity plus facts about the built file and where its ONNX came from."""
    return {
        **fields,
        **({"provenance": provenance} if provenance else {}),
        "engine_sha256": sha256_of(engine),
        "layers": layers,
        "plugin_layers": layers.get("PLUGIN_V3", 0),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def read_sidecar(engine: Path) -> dict:
    return json.loads(sidecar_path(engine).read_text())


def mismatches(sidecar: dict, current: dict) -> list[str]:
    """Reasons an engine described by ``sidecar`` cannot run where ``current`` describes the machine.

    ``current`` may hold ``flavour``, ``tensorrt_version``, ``compute_capability`` (``"8.9"``) and
    ``plugin_sha256``; fields it lacks are not checked.
    """
    reasons = []
    for field in ("flavour", "tensorrt_version", "plugin_sha256"):
        if field in current and sidecar.get(field) != current[field]:
            reasons.append(
                f"{field}: engine built for {sidecar.get(field)}, this machine has {current[field]}"
            )
    capability = current.get("compute_capability")
    if capability is not None:
        if sidecar.get("flavour") == "rtx":
            sm = int(capability.replace(".", ""))
            if sm not in (sidecar.get("rtx_targets") or []):
                reasons.append(f"GPU sm_{sm} is not among the engine's targets {sidecar.get('rtx_targets')}")
        elif sidecar.get("compute_capability") != capability:
            reasons.append(
                f"compute capability: engine built on {sidecar.get('gpu')} "
                f"({sidecar.get('compute_capability')}), this GPU is {capability}"
            )
    return reasons
