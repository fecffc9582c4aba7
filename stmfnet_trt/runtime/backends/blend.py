"""Frame blending: the average of the two inner frames.

The baseline every user already has (and what interpolation across a scene cut degenerates
to); used by ``eval`` and the benchmarks for comparison, and cheap enough to drive the whole
pipeline in tests.
"""

from __future__ import annotations

import numpy as np

from stmfnet_trt.runtime.backend import Backend


class BlendBackend(Backend):
    """Middle frame = (I1 + I2) / 2."""

    name = "blend"

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        return (windows[:, 1] + windows[:, 2]) * np.float32(0.5)
