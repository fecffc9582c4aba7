"""The 7-frame window that training and evaluation share, and which windows are clean.

Window frames 0..6: the model sees 0, 2, 4, 6 (t-3, t-1, t+1, t+3) and predicts 3 (t). A
window is clean when none of its six consecutive pairs is a scene cut (``runtime.scene``); the
training data also rejects repeated frames (``repeat_threshold``), which break the constant
spacing in time the model assumes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np

from stmfnet_trt.core.frames import to_model_frame
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector

WINDOW = 7
TARGET = 3
INPUTS = (0, 2, 4, 6)


def bad_pairs(frames: np.ndarray, detector: SceneCutDetector, repeat_threshold: float = -1.0) -> np.ndarray:
    """For (T, H, W, 3) uint8 frames: True for each pair (i, i+1) that is a cut or a repeat.

    A pair is a repeat when its mean absolute difference (in [0, 1] units) is below
    ``repeat_threshold``; the default never flags one.
    """
    model_frames = [to_model_frame(frame) for frame in frames]
    return np.array(
        [
            float(np.abs(a - b).mean()) < repeat_threshold or detector.is_cut(a, b)
            for a, b in itertools.pairwise(model_frames)
        ],
        dtype=bool,
    )


def clean_starts(bad: np.ndarray, starts: Iterable[int]) -> list[int]:
    """The window starts among ``starts`` whose six pairs are all good."""
    return [s for s in starts if not bad[s : s + WINDOW - 1].any()]
