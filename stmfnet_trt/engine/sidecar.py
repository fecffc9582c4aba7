"""The JSON file beside every engine: what it was built from, for, and how.

A serialized engine only runs with the TensorRT version, GPU (or RTX targets) and plugin build it
was made for; loading a mismatched one fails obscurely or crashes. The runtime reads this file
first and refuses, with the reason, an engine that does not match (``mismatches``). The identity
fields also key the engine cache.

An engine is executable code: deserialising it runs the plugin creators it names, and an engine
can carry native code. ``verify_engine`` is therefore the one door every loader goes through
(``run --engine``, the TensorRT backend under ``serve``, ``triton-repo``, the engine cache): the
sidecar must parse with the right field types and the engine's bytes must hash to its
``engine_sha256``, all before TensorRT sees a byte. Anything else is one ``EngineTrustError``
line. The sidecar only proves the file is the one the builder described; whether to trust that
builder is the user's call (README, "Trust").
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.flavours import FLAVOURS
from stmfnet_trt.core.hashing import file_sha256
from stmfnet_trt.core.version import __version__
from stmfnet_trt.engine.request import BuildRequest, ProfileShapes

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


# The builder field saying the plugin library was listed in ``IBuilderConfig.plugins_to_serialize``.
# What that does depends on the flavour: TensorRT-RTX stores the library in the engine (measured:
# a one-warp engine is 29 KB without, 1.5 MB with it); classic TensorRT stores it only in
# version-compatible engines, which ours are not, so there the library must ship beside the engine.
# The old name ``embed_plugin`` promised the classic case more than it did; it is still read.
PLUGIN_SERIALIZE_FIELD = "plugin_in_plugins_to_serialize"
_OLD_PLUGIN_SERIALIZE_FIELD = "embed_plugin"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CAPABILITY = re.compile(r"[0-9]{1,2}\.[0-9]")


class EngineTrustError(UserError):
    """An engine whose sidecar is missing, unreadable or forged, or whose bytes it does not match."""


def sha256_of(path: str | Path) -> str:
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
            PLUGIN_SERIALIZE_FIELD: request.embed_plugin,
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


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def _is_profile_list(value: Any) -> bool:
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        return False
    try:
        for text in value:
            ProfileShapes.parse(text)
    except UserError:
        return False
    return True


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Field -> (required, check). Fields not listed are kept as they are; they decide nothing.
_FIELDS: dict[str, tuple[bool, Callable[[Any], bool]]] = {
    "flavour": (True, lambda v: v in FLAVOURS),
    "tensorrt_version": (True, lambda v: isinstance(v, str) and bool(v)),
    "engine_sha256": (True, _is_sha256),
    "profiles": (True, _is_profile_list),
    "plugin_sha256": (False, _optional(_is_sha256)),
    "onnx_sha256": (False, _optional(_is_sha256)),
    "gpu": (False, _optional(lambda v: isinstance(v, str))),
    "compute_capability": (False, _optional(lambda v: isinstance(v, str) and bool(_CAPABILITY.fullmatch(v)))),
    "rtx_targets": (False, _optional(lambda v: isinstance(v, list) and all(_is_int(sm) for sm in v))),
    "precision": (False, lambda v: isinstance(v, str)),
    "builder": (False, lambda v: isinstance(v, dict)),
    "layers": (False, lambda v: isinstance(v, dict) and all(_is_int(n) for n in v.values())),
    "plugin_layers": (False, _is_int),
}


def parse_sidecar(text: str, where: Path) -> dict:
    """The sidecar's fields, checked for presence and type; ``EngineTrustError`` otherwise.

    Reads the old builder field name (``embed_plugin``) as the new one.
    """
    try:
        description = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than json can go
        raise EngineTrustError(f"{where} is not valid JSON ({exc}): rebuild the engine") from None
    if not isinstance(description, dict):
        raise EngineTrustError(f"{where} is not a JSON object: rebuild the engine")
    for name, (required, check) in _FIELDS.items():
        if name not in description:
            if required:
                raise EngineTrustError(f"{where} lacks the field {name!r}: rebuild the engine")
        elif not check(description[name]):
            raise EngineTrustError(f"{where}: field {name!r} has an invalid value: rebuild the engine")
    builder = description.get("builder")
    if builder is not None and _OLD_PLUGIN_SERIALIZE_FIELD in builder:
        builder.setdefault(PLUGIN_SERIALIZE_FIELD, builder.pop(_OLD_PLUGIN_SERIALIZE_FIELD))
    return description


def read_sidecar(engine: Path) -> dict:
    """The sidecar of ``engine``, parsed and type-checked (``parse_sidecar``)."""
    path = sidecar_path(engine)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EngineTrustError(
            f"{engine} has no sidecar {path.name}: an engine is only loaded with the sidecar "
            "`stmfnet-trt build` wrote beside it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EngineTrustError(f"cannot read {path}: {exc}") from None
    return parse_sidecar(text, path)


def verify_engine(engine: Path, data: bytes | None = None) -> dict:
    """The sidecar of ``engine`` once its ``engine_sha256`` matches the engine's bytes.

    ``data``: the bytes about to be deserialised, when the caller already read them (hash what
    is loaded, not a file that may change between the check and the load). Raises
    ``EngineTrustError`` (one line) for a missing engine or sidecar, an unreadable or forged
    sidecar, or bytes that do not match.
    """
    if not engine.is_file():
        raise EngineTrustError(f"engine not found: {engine}")
    description = read_sidecar(engine)
    try:
        digest = hashlib.sha256(data).hexdigest() if data is not None else file_sha256(engine)
    except OSError as exc:
        raise EngineTrustError(f"cannot read engine {engine}: {exc.strerror}") from None
    if digest != description["engine_sha256"]:
        raise EngineTrustError(
            f"{engine} does not match the engine_sha256 of {sidecar_path(engine).name} (the file was "
            "changed or replaced after it was built): refusing to load it; rebuild it or get both "
            "files again from a builder you trust"
        )
    return description


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
