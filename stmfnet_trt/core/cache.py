"""Where stmfnet-trt caches what it derives (exported ONNX, engines, precision models) and the keys.

One place for the cache root so that every cache honours ``$STMFNET_TRT_CACHE`` the same way, and
for the ONNX key, which both the exporter's cache and the engine cache's lookups compute.
"""

from __future__ import annotations

import os
from pathlib import Path

from stmfnet_trt.core.contract import GRAPH_REVISION, OPSET
from stmfnet_trt.core.version import __version__

CACHE_ENV = "STMFNET_TRT_CACHE"


def cache_root() -> Path:
    """The user's cache folder for exports (and, later, engines)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "stmfnet-trt"


def onnx_cache_key(checkpoint_sha256: str, variant: str) -> str:
    return f"{checkpoint_sha256[:16]}-{variant}-opset{OPSET}-g{GRAPH_REVISION}-v{__version__}.onnx"
