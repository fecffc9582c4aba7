"""Decoded frames stay uint8 until a backend reads them: every frame of every backend must be the
one the float path (each frame converted by ``to_model_frame`` first, as before) gives, bit for bit,
with the same windows, cuts and copies."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from cubic_backend import CubicBackend

from stmfnet_trt.core.frames import (
    channels_first,
    contiguous_model_values,
    model_values,
    to_model_frame,
    to_video_frame,
)
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.blend import BlendBackend
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector, cut_score
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_stream

EVERY_VALUE = np.arange(256, dtype=np.uint8).reshape(8, 32, 1).repeat(3, axis=2)  # (H, W, 3)


def clip(count: int = 9, size: tuple[int, int] = (72, 80), seed: int = 0) -> list[np.ndarray]:
    """Moving random frames with a repeated frame and a cut: (H, W, 3) uint8 as decoded."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size[0] + count, size[1] + count, 3), np.uint8)
    frames = [np.ascontiguousarray(base[i : i + size[0], i : i + size[1]]) for i in range(count)]
    frames[3] = frames[2].copy()  # an identical pair
    frames[6] = 255 - frames[6]  # a cut on either side
    return frames


def old_to_model_frame(frame: np.ndarray) -> np.ndarray:
    """``to_model_frame`` as it was before frames stayed uint8."""
    return np.ascontiguousarray(frame.transpose(2, 0, 1), dtype=np.float32) / np.float32(255)


def test_every_uint8_value_converts_to_the_float_it_converted_to_before_and_back():
    old = old_to_model_frame(EVERY_VALUE)
    assert np.array_equal(to_model_frame(EVERY_VALUE), old) and to_model_frame(EVERY_VALUE).flags.c_contiguous
    view = channels_first(EVERY_VALUE)
    assert np.array_equal(model_values(view), old) and np.array_equal(contiguous_model_values(view), old)
    assert np.array_equal(to_video_frame(view), EVERY_VALUE)  # a uint8 frame passes through as it is
    assert np.array_equal(to_video_frame(old), EVERY_VALUE)  # as the float frame did


def test_cut_scores_of_uint8_frames_are_those_of_their_float_frames():
    frames = clip()
    for a, b in itertools.pairwise(frames):
        float_score = cut_score(old_to_model_frame(a), old_to_model_frame(b))
        assert cut_score(channels_first(a), channels_first(b)) == float_score
        assert cut_score(channels_first(a), old_to_model_frame(b)) == float_score  # mixed, as at x4


def run(frames, backend: Backend, factor: int, batch_size: int, as_uint8: bool):
    stats = SchedulerStats()
    given = [channels_first(f) if as_uint8 else old_to_model_frame(f) for f in frames]
    out = list(interpolate_stream(iter(given), backend, factor, SceneCutDetector(), batch_size, stats))
    return out, stats


@pytest.mark.parametrize("backend_type", [BlendBackend, CubicBackend])
@pytest.mark.parametrize(("factor", "batch_size"), [(2, 1), (2, 3), (4, 1), (4, 2), (8, 3)])
def test_uint8_frames_give_the_frames_float_frames_gave(backend_type, factor, batch_size):
    frames = clip()
    new, new_stats = run(frames, backend_type(), factor, batch_size, as_uint8=True)
    old, old_stats = run(frames, backend_type(), factor, batch_size, as_uint8=False)
    assert new_stats == old_stats and old_stats.scene_cuts > 0 and old_stats.identical_pairs > 0
    assert len(new) == len(old) == factor * len(frames)
    for a, b in zip(new, old, strict=True):
        assert np.array_equal(model_values(a), b)  # the values, interpolated or passed through
        assert np.array_equal(to_video_frame(a), to_video_frame(b))  # and the bytes written


def ring_windows() -> np.ndarray:
    """Two consecutive uint8 windows as the scheduler's ring hands them to a backend that converts
    windows itself: a read-only strided view, one of its frames holding every level."""
    frames = [channels_first(f) for f in clip(count=8, size=(72, 136))[:5]]
    frames[1] = channels_first(np.resize(EVERY_VALUE, (72, 136, 3)))
    ring = np.stack(frames)
    step = ring.strides[0]
    shape, strides = (2, 4, *ring.shape[1:]), (step, step, *ring.strides[1:])
    return np.lib.stride_tricks.as_strided(ring, shape, strides, writeable=False)


def assert_raw_output_of_uint8_windows_is_that_of_float_windows(backend: Backend) -> None:
    """The network's output itself, before the scheduler's clamp or blend fallback (which would
    hide a conversion that is off by an ulp wherever these weights diverge)."""
    windows = ring_windows()
    assert backend.converts_windows
    assert np.array_equal(backend.interpolate(windows), backend.interpolate(model_values(windows)))


@pytest.mark.parametrize("variant", ["portable", "cpu"])
def test_onnxruntime_converts_uint8_windows_to_the_values_of_float_windows(exported, variant):
    from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions

    with OnnxRuntimeBackend(OnnxRuntimeOptions(model=exported[variant], threads=2)) as backend:
        assert_raw_output_of_uint8_windows_is_that_of_float_windows(backend)
        frames = clip(count=8, size=(72, 136))
        new, _ = run(frames, backend, 2, 2, as_uint8=True)
        old, _ = run(frames, backend, 2, 2, as_uint8=False)
    assert all(np.array_equal(model_values(a), b) for a, b in zip(new, old, strict=True))


def test_torch_converts_uint8_windows_on_its_device_to_the_values_of_float_windows():
    pytest.importorskip("torch", reason="the torch backend needs torch")
    from stmfnet_trt.runtime.backends.torch_backend import TorchBackend, TorchOptions

    backend = TorchBackend(TorchOptions(random_init_seed=0, device="cpu", threads=2))
    assert np.array_equal(backend._levels.numpy(), model_values(np.arange(256, dtype=np.uint8)))
    assert_raw_output_of_uint8_windows_is_that_of_float_windows(backend)


def test_interpolate_gives_the_caller_an_array_of_its_own():
    class Echo(Backend):
        """Returns a view of its input: the frame the scheduler then clamps in place."""

        def _interpolate(self, windows):
            return windows[:, 1]

    windows = np.full((1, 4, 3, 72, 80), 0.5, np.float32)
    out = Echo().interpolate(windows)
    assert out.flags.writeable and not np.may_share_memory(out, windows)
    ring_view = np.lib.stride_tricks.as_strided(windows, writeable=False)
    blended = BlendBackend().interpolate(ring_view)
    assert blended.flags.writeable and np.array_equal(blended, windows[:, 1])


class Overshoots(Backend):
    """Overshoots [0, 1] a little (as a working network does, clamped away); in the windows it is
    given, in turn: a value exactly at the margin (1.5: kept, clamped), one just past it (diverged:
    replaced by the blend), each in a different block of rows, and a NaN in the last row."""

    def __init__(self) -> None:
        self.seen = 0

    def _interpolate(self, windows):
        out = (windows[:, 1] + windows[:, 2]) * np.float32(0.5) + np.float32(0.4) * (
            windows[:, 0] - windows[:, 3]
        )
        past_margin = np.nextafter(np.float32(1.5), np.float32(2))
        for window in out:
            if self.seen % 4 == 1:
                window[0, 0, 0] = np.float32(1.5)
            elif self.seen % 4 == 2:
                window[2, 70, 3] = past_margin
            elif self.seen % 4 == 3:
                window[1, -1, -1] = np.nan
            self.seen += 1
        return out


@pytest.mark.parametrize("backend_type", [BlendBackend, Overshoots])
@pytest.mark.parametrize(("factor", "batch_size"), [(2, 1), (2, 3), (4, 3), (8, 3)])
def test_video_frames_of_the_fused_last_level_are_those_of_settle_then_convert(
    backend_type, factor, batch_size
):
    from stmfnet_trt.runtime.scheduling.scheduler import interpolate_rgb

    # A smooth picture panning (windows to interpolate), a repeated frame and a cut; 150 rows:
    # three blocks of rows for the fused conversion, the last one short.
    smooth = np.kron(
        np.random.default_rng(4).integers(0, 256, (24, 16, 3), np.uint8), np.ones((8, 8, 1), np.uint8)
    )
    frames = [np.ascontiguousarray(smooth[2 * i : 2 * i + 150, 2 * i : 2 * i + 80]) for i in range(9)]
    frames[3] = frames[2].copy()
    frames[6] = 255 - frames[6]
    old, old_stats = run(frames, backend_type(), factor, batch_size, as_uint8=False)
    new_stats = SchedulerStats()
    new = list(
        interpolate_rgb(iter(frames), backend_type(), factor, SceneCutDetector(), batch_size, new_stats)
    )
    assert new_stats == old_stats
    assert backend_type is BlendBackend or old_stats.diverged_windows > 0
    assert len(new) == len(old) and all(
        np.array_equal(a, to_video_frame(b)) for a, b in zip(new, old, strict=True)
    )


def test_to_video_frame_within_converts_what_is_in_range_and_refuses_the_rest():
    from stmfnet_trt.core.frames import to_video_frame_within

    rng = np.random.default_rng(2)
    frame = rng.random((3, 150, 40), dtype=np.float32) * np.float32(1.2) - np.float32(0.1)
    assert np.array_equal(to_video_frame_within(frame, -0.5, 1.5), to_video_frame(frame))
    for row in (0, 70, 149):  # each block of rows is tested
        for bad in (1.6, -0.6, np.nan, np.inf):
            broken = frame.copy()
            broken[1, row, 7] = bad
            assert to_video_frame_within(broken, -0.5, 1.5) is None, (row, bad)
