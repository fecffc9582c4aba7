"""Scene-cut score: motion stays low, a change of shot scores high."""

from __future__ import annotations

import numpy as np
import pytest

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.scheduling.scene import (
    DEFAULT_THRESHOLD,
    SUBSAMPLE,
    SceneCutDetector,
    cut_score,
    thumbnail,
)


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


def test_uint8_thumbnail_counts_every_level_in_the_bin_of_its_float_value():
    # Every level in every channel, plus random extra pixels, so a level counted in a
    # neighbouring bin (or a count lost) changes the histograms.
    rng = np.random.default_rng(3)
    every_level = np.arange(256, dtype=np.uint8)
    channels = [
        rng.permutation(np.concatenate([every_level, rng.integers(0, 256, 1280, np.uint8)])) for _ in range(3)
    ]
    frame = np.stack([channel.reshape(16, 96) for channel in channels])
    frame = np.kron(frame, np.ones((SUBSAMPLE, SUBSAMPLE), np.uint8))  # subsampling keeps each pixel once
    from_levels = thumbnail(frame)
    from_floats = thumbnail(frame.astype(np.float32) / np.float32(255))
    assert from_levels.histograms.dtype == from_floats.histograms.dtype == np.float64
    np.testing.assert_array_equal(from_levels.histograms, from_floats.histograms)
    np.testing.assert_array_equal(from_levels.pixels, from_floats.pixels)
    assert all(len(np.unique(channel)) == 256 for channel in frame)
