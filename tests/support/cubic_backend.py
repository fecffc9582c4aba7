"""Cubic (Catmull-Rom) midpoint of each window: all four frames, no model.

Blending reads only the two inner frames, so a window whose outer frames are wrong (a
scheduler, chunking or transport bug) still gives the right blend. This baseline weighs all four
frames, ``(-f0 + 9 f1 + 9 f2 - f3) / 16``, so such bugs change its output, at numpy speed: the
plumbing tests of chunked and remote runs use it where the real model would take minutes.
"""

from __future__ import annotations

import numpy as np

from stmfnet_trt.runtime.backend import Backend

_WEIGHTS = np.array([-1, 9, 9, -1], np.float32) / np.float32(16)


class CubicBackend(Backend):
    """Middle frame = (-I0 + 9 I1 + 9 I2 - I3) / 16 (cubic interpolation at the midpoint)."""

    name = "cubic"

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        return np.einsum("k,nkchw->nchw", _WEIGHTS, windows).astype(np.float32)
