"""The Ray actor body: one model per worker, loaded once, interpolating chunk after chunk.

A plain class, made a Ray actor by the driver (``ray.remote(ChunkWorker)``), so that this module
imports without Ray and the chunk logic is tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.scheduling.chunks import Chunk, interpolate_chunk
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector


class ChunkWorker:
    """Builds its backend once (model load, session, engine) and reuses it for every chunk."""

    def __init__(
        self,
        make_backend: Callable[[], Backend],
        factor: int,
        detector: SceneCutDetector,
        batch_size: int,
    ) -> None:
        self.backend = make_backend()
        self.factor = factor
        self.detector = detector
        self.batch_size = batch_size

    def run(self, frames: np.ndarray, chunk: Chunk) -> np.ndarray:
        """The chunk's core output frames, uint8 ``[factor * (stop - start), H, W, 3]``."""
        return interpolate_chunk(frames, chunk, self.backend, self.factor, self.detector, self.batch_size)
