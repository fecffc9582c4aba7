"""Streaming sha256 of files: one layer-1 module with no heavy imports.

The TensorRT path (checking an engine before loading it, packaging one for Triton) hashes
engines, plugin libraries and ONNX files on installs that have no torch; keeping the hash here
rather than in ``model/checkpoint`` (which imports torch) is what keeps that path torch-free.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_BLOCK_BYTES = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Hex digest of a file, read in 1 MiB blocks (engines and checkpoints can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()
