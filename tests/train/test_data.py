"""Training material: synthetic motion with an exact middle frame, clean windows, split, batches."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from synthetic_media import panning_frames, smooth_photo

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.io.images import encode_png
from stmfnet_trt.train.config import TrainConfig
from stmfnet_trt.train.data import GAIN_RANGE, DataOptions, TrainingData, validation_windows
from stmfnet_trt.train.sources import discover_sources, load_clip
from stmfnet_trt.train.synthetic import Motion, MotionRange, random_motion, render_window


def test_synthetic_frames_are_exact_shifted_crops_for_integer_motion():
    photo = smooth_photo(120, 160)
    height, width, top, left = 48, 64, 40, 50
    motion = Motion(
        centre=(left + (width - 1) / 2, top + (height - 1) / 2),
        velocity=(3.0, -2.0),
        scale=1.0,
        zoom=0.0,
        spin=0.0,
    )
    frames = render_window(photo, motion, (height, width)).numpy()
    for t in range(7):
        tau = t - 3
        expected = (
            photo[top - 2 * tau : top - 2 * tau + height, left + 3 * tau : left + 3 * tau + width] / 255
        )
        np.testing.assert_allclose(frames[t], expected.transpose(2, 0, 1), atol=1e-5)


def test_middle_frame_is_the_photo_at_tau_zero_whatever_the_motion():
    photo = smooth_photo(200, 240)
    moving = random_motion(np.random.default_rng(3), photo.shape[:2], 64, MotionRange())
    assert moving.zoom != 0 and moving.spin != 0 and math.hypot(*moving.velocity) > 0
    still = Motion(centre=moving.centre, velocity=(0.0, 0.0), scale=moving.scale, zoom=0.0, spin=0.0)
    frames, reference = render_window(photo, moving, (64, 64)), render_window(photo, still, (64, 64))
    torch.testing.assert_close(frames[3], reference[3], rtol=0, atol=1e-6)
    assert (frames[0] - reference[0]).abs().mean() > 0.01  # the other frames do move


def test_clip_windows_skip_cuts_and_repeats_and_hold_out_the_end(frame_folder):
    frames = panning_frames(40)
    frames[20] = np.random.default_rng(5).integers(0, 256, frames[0].shape, dtype=np.uint8)  # a flash
    frames[30] = frames[29]  # a repeated frame
    clip = load_clip(frame_folder("clip", frames), holdout=0.25)
    bad = {
        s for s in range(34) if s <= 20 <= s + 6 or s <= 29 < s + 6
    }  # windows holding pair (19,20), (20,21), (29,30)
    assert clip.skipped_windows == len(bad) == 13
    # Held out: frames 30..39; training windows end before frame 30.
    assert clip.train_starts == tuple(s for s in range(0, 24) if s not in bad)
    assert clip.val_starts == tuple(s for s in range(30, 34) if s not in bad)


def test_batches_are_deterministic_augmented_and_keep_the_target_in_the_middle(frame_folder, tmp_path):
    # Frame k is a horizontal gradient plus 2 k: the minimum of a crop tells which frame it is.
    gradient = np.tile(np.arange(112, dtype=np.uint8)[None, :, None], (96, 1, 3))
    frames = [gradient + 2 * k for k in range(20)]
    clip = load_clip(frame_folder("levels", frames), holdout=0.15)
    # A "teacher" that predicts the truth, stored as the teacher folder layout expects.
    teacher_dir = tmp_path / "teacher"
    (teacher_dir / "levels").mkdir(parents=True)
    for k, frame in enumerate(frames):
        (teacher_dir / "levels" / f"{k:06d}.png").write_bytes(encode_png(frame))
    data = TrainingData([clip], [], DataOptions(crop=80), seed=7, teacher_dir=teacher_dir)
    first, again = data.batch(3, 8), data.batch(3, 8)
    torch.testing.assert_close(first.inputs, again.inputs, rtol=0, atol=0)
    assert not torch.equal(first.inputs, data.batch(4, 8).inputs)
    torch.testing.assert_close(first.teacher, first.target, rtol=0, atol=0)  # cropped and flipped alike
    assert bool(first.has_teacher.all())
    levels = (first.inputs.amin(dim=(2, 3, 4)) * 255).round()  # (B, 4) the frames' base level
    target = (first.target.amin(dim=(1, 2, 3)) * 255).round()
    orders = set()
    for row, middle in zip(levels.tolist(), target.tolist(), strict=True):
        step = 1 if row[1] > row[0] else -1  # temporal reversal swaps the order
        orders.add(step)
        assert [b - a for a, b in itertools.pairwise(row)] == [step * 4.0] * 3
        assert middle == (row[1] + row[2]) / 2
    rising = first.inputs[:, 0, 0, 0, -1] > first.inputs[:, 0, 0, 0, 0]  # False where flipped
    assert orders == {1, -1} and 0 < int(rising.sum()) < 8


def test_photos_alone_give_synthetic_batches_and_validation():
    photos = [smooth_photo(160, 200, seed) for seed in range(2)]
    data = TrainingData([], photos, DataOptions(crop=96), seed=0)
    batch = data.batch(0, 2)
    assert batch.inputs.shape == (2, 4, 3, 96, 96) and batch.target.shape == (2, 3, 96, 96)
    assert batch.teacher is None
    windows = validation_windows([], photos, count=3, crop=96, seed=0)
    assert len(windows) == 3 and windows[0].shape == (7, 3, 96, 96)


def test_validation_windows_come_from_held_out_frames(frame_folder):
    clip = load_clip(frame_folder("pan", panning_frames(40)), holdout=0.25)
    windows = validation_windows([clip], [], count=2, crop=96, seed=0)
    starts = [clip.val_starts[0], clip.val_starts[-1]]
    for window, start in zip(windows, starts, strict=True):
        expected = clip.frames[start : start + 7, 16:112, 16:112].transpose(0, 3, 1, 2) / 255
        np.testing.assert_allclose(window.numpy(), expected, atol=1e-6)


def test_no_material_is_a_user_error():
    with pytest.raises(UserError, match="no training material"):
        TrainingData([], [], DataOptions(crop=128), seed=0)


def test_discovery_reads_the_fetch_layout_and_refuses_reserved_data(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "photos").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(b"")
    (tmp_path / "photos" / "b.png").write_bytes(b"")
    found = discover_sources([tmp_path])
    assert found.clips == (tmp_path / "clips" / "a.mp4",)
    assert found.photos == (tmp_path / "photos" / "b.png",)
    with pytest.raises(UserError, match="reserved for independent evaluation"):
        discover_sources(["/usr/share/doc/opencv-doc/examples/data/vtest.avi"])


def test_photometric_gain_is_one_clipped_gain_per_window_and_off_by_default():
    photos = [smooth_photo(160, 200, seed) for seed in range(2)]
    plain = TrainingData([], photos, DataOptions(crop=80), seed=0)
    lit = TrainingData([], photos, DataOptions(crop=80, photometric=1.0), seed=0)
    gains = []
    for step in range(6):
        before, _ = plain.sample(step, 0)
        after, _ = lit.sample(step, 0)
        usable = (after > 0.01) & (after < 0.99) & (before > 0.05)
        gain = float((after[usable] / before[usable]).median())
        torch.testing.assert_close(after, (before * gain).clamp(0.0, 1.0), atol=1e-5, rtol=0)
        gains.append(gain)
    assert min(gains) >= GAIN_RANGE[0] - 1e-4 and max(gains) <= GAIN_RANGE[1] + 1e-4
    assert max(gains) - min(gains) > 0.2
    assert any(g > 1.05 for g in gains) and any(g < 0.95 for g in gains)
    with pytest.raises(UserError, match="photometric must lie in"):
        TrainConfig(photometric=1.5)
