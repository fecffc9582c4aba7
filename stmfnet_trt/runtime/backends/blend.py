"""Frame blending: the average of the two inner frames.

The baseline every user already has (and what interpolation across a scene cut degenerates
to); used by ``eval`` and the benchmarks for comparison, and cheap enough to drive the whole
pipeline in tests.
"""

from __future__ import annotations

import numpy as np

from stmfnet_trt.core.frame_pool import FRAMES, empty_frames
from stmfnet_trt.core.frames import model_values
from stmfnet_trt.runtime.backend import Backend

_ROWS_PER_BLOCK = 64  # uint8 -> float32 conversions in blocks that stay in cache


class BlendBackend(Backend):
    """Middle frame = (I1 + I2) / 2.

    It reads only the inner frames, so it converts them itself (``converts_windows``), a block
    of rows at a time into the output (in the inputs' memory layout, from ``FRAMES``): a uint8
    batch costs one float32 frame per window, where converting the batch first wrote four, and
    float32 windows are read in place. The same float32 operations as on float32 windows:
    I1 / 255 + I2 / 255, then x 0.5.
    """

    name = "blend"
    converts_windows = True

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        first, second = windows[:, 1], windows[:, 2]
        middle = empty_frames(first.shape[:1], first[0], np.float32, FRAMES.empty)
        scratch = np.empty_like(middle[..., :_ROWS_PER_BLOCK, :]) if windows.dtype == np.uint8 else None
        for top in range(0, middle.shape[-2], _ROWS_PER_BLOCK):
            rows = slice(top, top + _ROWS_PER_BLOCK)
            block = middle[..., rows, :]
            if scratch is None:
                np.add(first[..., rows, :], second[..., rows, :], out=block)
            else:
                model_values(first[..., rows, :], out=block)
                block += model_values(second[..., rows, :], out=scratch[..., : block.shape[-2], :])
            block *= np.float32(0.5)
        return middle
