"""PyTorch ST-MFNet Mini: the reference every other backend is checked against.

Public API: ``STMFNetMini`` (the network), ``load_model`` / ``save_checkpoint`` (published
checkpoint layout, strict loading), ``adaptive_warp`` (the warp oracle).

Imported lazily: ``stmfnet_trt.core.contract`` (the size contract) is torch-free and used by the
lean runtimes, which must not pull in torch through this package.

Layer 3, beside ``io/`` (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above
``core/``, ``plugins.py`` and ``weights.py``, below ``export/``. Modules: ``network`` (the whole
network and its padding), ``feature``, ``gridnet``, ``heads``, ``scales``, ``texture`` (its parts),
``warp`` (the adaptive-warp oracle), ``checkpoint`` (loading and saving weights).
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "STMFNetMini": ".network",
    "adaptive_warp": ".warp",
    "load_model": ".checkpoint",
    "save_checkpoint": ".checkpoint",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name], __name__), name)
