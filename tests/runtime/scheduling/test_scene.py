"""Scene-cut score: motion stays low, a change of shot scores high."""

from __future__ import annotations

import numpy as np
import pytest

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.scheduling.scene import DEFAULT_THRESHOLD, SceneCutDetector, cut_score


def textured(seed: int, shape=(3, 144, 256)) -> np.ndarray:
    """A smooth random picture with structure at several scales."""
    rng = np.random.default_rng(seed)
    low = rng.random((shape[0], shape[1] // 16, shape[2] // 16), dtype=np.float32)
    return np.kron(low, np.ones((1, 16, 16), np.float32))


def test_identical_frames_score_zero():
    frame = textured(0)
    assert cut_score(frame, frame) == 0.0


def test_motion_scores_below_the_threshold():
    frame = textured(1)
    moved = np.roll(frame, shift=(6, 9), axis=(1, 2))  # a fast pan: 9 px per frame
    assert cut_score(frame, moved) < DEFAULT_THRESHOLD / 2


def test_a_different_shot_scores_above_the_threshold():
    darker_scene = textured(2) * 0.5
    assert cut_score(textured(1), darker_scene) > DEFAULT_THRESHOLD


def test_detector_switch_and_threshold():
    a, b = textured(1), textured(2) * 0.5
    assert SceneCutDetector().is_cut(a, b)
    assert not SceneCutDetector(enabled=False).is_cut(a, b)
    assert not SceneCutDetector(threshold=1.0).is_cut(a, b)
    for outside in (1.01, -0.1, float("nan")):
        with pytest.raises(UserError, match="scene threshold must be between 0 and 1"):
            SceneCutDetector(threshold=outside)
