"""Calibration windows: shapes, spread, seeds, scene cuts, the held-out split and bad input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from stmfnet_trt.calibration import CalibrationData, load_calibration_windows
from stmfnet_trt.calibration.windows import (
    draw_spread,
    fit_to_shape,
    held_out_strata,
    resize_target,
    usable_starts,
)
from stmfnet_trt.core.contract import pad_to_multiple
from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.core.frames import to_model_frame
from stmfnet_trt.io import open_sink, open_source


def write_folder(folder: Path, frames: list[np.ndarray]) -> Path:
    height, width = frames[0].shape[:2]
    with open_sink(folder, width, height, Fraction(25)) as sink:
        for frame in frames:
            sink.write(frame)
    return folder


@pytest.fixture(scope="module")
def carphone_frames(assets_dir) -> list[np.ndarray]:
    with open_source(assets_dir / "carphone_12.mp4") as source:
        return list(source)


def test_windows_are_model_frames_at_the_build_shape(demo_windows, carphone_windows):
    for data, frames in ((demo_windows, 18), (carphone_windows, 12)):
        assert data.calib.dtype == np.float32 and data.held_out.dtype == np.float32
        assert data.calib.shape[1:] == data.held_out.shape[1:] == (4, 3, 128, 128)
        assert data.shape == (128, 128) and data.frames == frames and data.cuts == ()
        assert data.calib.min() >= 0.0 and data.calib.max() <= 1.0 and data.calib.std() > 0.05
    assert len(demo_windows.calib) == 3 and len(demo_windows.held_out) == 2


def test_held_out_windows_are_not_calibration_windows(demo_windows):
    assert not set(demo_windows.calib_starts) & set(demo_windows.held_out_starts)
    for window in demo_windows.held_out:
        assert all(np.abs(window - other).max() > 0.01 for other in demo_windows.calib)


def test_same_seed_same_windows_other_seed_other_windows(assets_dir):
    clip = assets_dir / "demo.mp4"
    first = load_calibration_windows(clip, 4, shape=(128, 128), seed=3, held_out=2)
    again = load_calibration_windows(clip, 4, shape=(128, 128), seed=3, held_out=2)
    other = load_calibration_windows(clip, 4, shape=(128, 128), seed=4, held_out=2)
    assert first.calib_starts == again.calib_starts and np.array_equal(first.calib, again.calib)
    assert first.held_out_starts == again.held_out_starts
    assert (first.calib_starts, first.held_out_starts) != (other.calib_starts, other.held_out_starts)


def test_windows_are_spread_over_the_clip():
    starts = list(range(100))
    for seed in range(5):
        picks = draw_spread(starts, 5, np.random.default_rng(seed))
        # one per fifth of the clip, in order
        assert [p // 20 for p in picks] == [0, 1, 2, 3, 4]
    assert held_out_strata(10, 2) == {4, 9} and held_out_strata(5, 1) == {4}
    assert held_out_strata(4, 0) == set() and held_out_strata(3, 3) == {0, 1, 2}
    assert len(held_out_strata(7, 3)) == 3


def test_windows_across_a_scene_cut_are_never_drawn(tmp_path, carphone_frames):
    # six frames of carphone, then the same frames with inverted colours: one hard cut after frame 5
    frames = carphone_frames[:6] + [255 - f for f in carphone_frames[:6]]
    folder = write_folder(tmp_path / "cut", frames)
    data = load_calibration_windows(folder, 4, shape=(128, 128), held_out=2)
    assert data.cuts == (5,) and data.frames == 12
    assert sorted(data.calib_starts + data.held_out_starts) == [0, 1, 2, 6, 7, 8]
    assert usable_starts([False] * 5 + [True] + [False] * 5) == [0, 1, 2, 6, 7, 8]
    with pytest.raises(InputError, match=r"1 scene cut\(s\) give 6 usable four-frame windows"):
        load_calibration_windows(folder, 6, shape=(128, 128), held_out=1)


def test_frames_are_padded_like_the_runtime_or_downscaled_and_cropped(carphone_frames):
    frame = carphone_frames[0]  # 176x144
    padded = fit_to_shape(frame, (256, 256))
    assert np.array_equal(padded, pad_to_multiple(to_model_frame(frame)))
    assert resize_target(144, 176, (128, 128)) == (128, 156)  # cover 128x128, keep the aspect
    cropped = fit_to_shape(frame, (128, 128))
    assert cropped.shape == (3, 128, 128)
    # a flat frame stays flat through the area filter
    flat = fit_to_shape(np.full((144, 176, 3), 200, np.uint8), (128, 128))
    assert np.allclose(flat, 200 / 255, atol=1 / 255)


def test_too_few_frames_small_frames_and_undecodable_files_are_clear_errors(
    tmp_path, carphone_frames, assets_dir
):
    folder = write_folder(tmp_path / "three", carphone_frames[:3])
    with pytest.raises(InputError, match="3 frames with 0 scene cut"):
        load_calibration_windows(folder, 1, shape=(128, 128), held_out=0)
    with pytest.raises(InputError, match="smaller than the build shape 384x384"):
        load_calibration_windows(assets_dir / "carphone_12.mp4", 1, shape=(384, 384))
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01 not a video " * 100)
    with pytest.raises(InputError, match=r"garbage\.mp4: not a video"):
        load_calibration_windows(garbage, 1, shape=(128, 128))
    with pytest.raises(InputError, match="no such file"):
        load_calibration_windows(tmp_path / "missing.mp4", 1, shape=(128, 128))
    with pytest.raises(UserError, match="multiples of 128"):
        load_calibration_windows(folder, 1, shape=(100, 128))
    with pytest.raises(UserError, match="count >= 1"):
        load_calibration_windows(folder, 0, shape=(128, 128))


def test_hand_made_windows_are_validated():
    good = np.zeros((2, 4, 3, 128, 256), np.float32)
    assert CalibrationData(good, good[:1]).shape == (128, 256)
    with pytest.raises(UserError, match="float32"):
        CalibrationData(good.astype(np.float64), good)
    with pytest.raises(UserError, match="multiples of 128"):
        CalibrationData(np.zeros((1, 4, 3, 100, 128), np.float32), np.zeros((1, 4, 3, 100, 128), np.float32))
