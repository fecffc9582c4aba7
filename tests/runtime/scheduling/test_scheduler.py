"""Window scheduling: frame counts per factor, windows at the ends and at cuts, batching."""

from __future__ import annotations

import numpy as np
import pytest

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.blend import BlendBackend
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_stream

SIZE = (3, 72, 80)
NO_CUTS = SceneCutDetector(enabled=False)


class RecordingBackend(BlendBackend):
    """Blends, and remembers which frames (by their constant value) formed each window."""

    def __init__(self) -> None:
        self.windows: list[tuple[float, ...]] = []
        self.calls: list[int] = []

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        self.calls.append(len(windows))
        self.windows += [tuple(round(float(f[0, 0, 0]), 4) for f in w) for w in windows]
        return super()._interpolate(windows)


def flat_frames(values) -> list[np.ndarray]:
    """Frames of one constant grey level each; the value identifies the frame."""
    return [np.full(SIZE, v, np.float32) for v in values]


@pytest.mark.parametrize(("factor", "count"), [(2, 2), (2, 5), (4, 5), (8, 3)])
def test_output_has_factor_times_the_frames(factor, count):
    frames = flat_frames(np.linspace(0.1, 0.9, count))
    out = list(interpolate_stream(frames, BlendBackend(), factor, NO_CUTS))
    assert len(out) == factor * count
    assert all(o.shape == SIZE and o.dtype == np.float32 for o in out)
    assert np.array_equal(out[0], frames[0]) and np.array_equal(out[-1], frames[-1])


def test_x2_windows_repeat_the_edge_frames_at_the_ends():
    backend = RecordingBackend()
    out = list(interpolate_stream(flat_frames([0.1, 0.2, 0.3, 0.4]), backend, 2, NO_CUTS))
    assert backend.windows == [(0.1, 0.1, 0.2, 0.3), (0.1, 0.2, 0.3, 0.4), (0.2, 0.3, 0.4, 0.4)]
    assert [round(float(f[0, 0, 0]), 4) for f in out] == [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.4]


def test_x4_second_level_uses_first_level_midpoints():
    backend = RecordingBackend()
    out = list(interpolate_stream(flat_frames([0.0, 0.4, 0.8]), backend, 4, NO_CUTS))
    values = [round(float(f[0, 0, 0]), 4) for f in out]
    assert values == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.8]
    # level 2, frame at 1/4 between 0.0 and 0.4: (edge, 0.0, mid 0.2, 0.4)
    assert (0.0, 0.0, 0.2, 0.4) in backend.windows
    # the held last frame pairs are copies, never sent to the model
    assert all(w[1] != w[2] for w in backend.windows)


def test_cut_pairs_are_copied_and_windows_never_cross_a_cut():
    dark, bright = [0.1, 0.12, 0.14], [0.9, 0.92, 0.94]
    frames = flat_frames(dark + bright)
    backend = RecordingBackend()
    stats = SchedulerStats()
    detector = SceneCutDetector(threshold=0.3)
    out = list(interpolate_stream(frames, backend, 2, detector, stats=stats))
    assert stats.scene_cuts == 1
    assert np.array_equal(out[5], frames[2])  # the pair across the cut is a copy of its first frame
    for window in backend.windows:  # no window mixes the two shots
        assert all(v < 0.5 for v in window) or all(v > 0.5 for v in window)
    assert (0.12, 0.14, 0.14, 0.14) not in backend.windows  # pairs next to the cut repeat their edge
    assert (0.1, 0.12, 0.14, 0.14) in backend.windows
    assert (0.9, 0.9, 0.92, 0.94) in backend.windows


def test_identical_pairs_are_copied_without_inference():
    backend = RecordingBackend()
    stats = SchedulerStats()
    list(interpolate_stream(flat_frames([0.3, 0.3, 0.5]), backend, 2, NO_CUTS, stats=stats))
    assert stats.identical_pairs == 1 and stats.windows == 1


def test_batching_preserves_order_and_values():
    rng = np.random.default_rng(0)
    frames = [rng.random(SIZE, dtype=np.float32) for _ in range(7)]
    one = list(interpolate_stream(frames, BlendBackend(), 4, NO_CUTS, batch_size=1))
    backend = RecordingBackend()
    three = list(interpolate_stream(frames, backend, 4, NO_CUTS, batch_size=3))
    assert len(one) == len(three) == 28
    assert all(np.array_equal(a, b) for a, b in zip(one, three, strict=True))
    assert max(backend.calls) == 3


def test_interpolated_frames_are_clamped():
    class Overshoot(Backend):
        def _interpolate(self, windows):
            return windows[:, 1] * 1.5 - 0.2  # 1.15: over 1, but within the divergence margin

    out = list(interpolate_stream(flat_frames([0.9, 0.1]), Overshoot(), 2, NO_CUTS))
    assert float(out[1].max()) == 1.0 and float(out[1].min()) == 1.0


def test_diverged_windows_are_counted_and_replaced_by_the_blend_but_overshoot_is_not():
    class Scaled(Backend):
        """Raw output = gain x (frame 1) - offset: a small overshoot, or a diverged network."""

        def __init__(self, gain: float, offset: float) -> None:
            super().__init__()
            self.gain, self.offset = gain, offset

        def _interpolate(self, windows):
            return windows[:, 1] * self.gain - self.offset

    frames = flat_frames([0.9, 0.1, 0.5])
    for gain, offset, diverged in ((1.05, 0.0, 0), (1.0, -0.45, 0), (200.0, 0.0, 2), (1.0, 1.6, 2)):
        stats = SchedulerStats()
        out = list(interpolate_stream(frames, Scaled(gain, offset), 2, NO_CUTS, stats=stats))
        assert (stats.windows, stats.diverged_windows) == (2, diverged), (gain, offset)
        midpoints = [float(out[i].mean()) for i in (1, 3)]
        if diverged:  # the blends of 0.9/0.1 and 0.1/0.5, not saturated garbage
            assert midpoints == pytest.approx([0.5, 0.3]), (gain, offset)
        else:  # gain x the first frame, clamped
            assert midpoints == pytest.approx([min(0.9 * gain - offset, 1.0), 0.1 * gain - offset])


def test_frames_of_different_sizes_are_refused():
    frames = [np.zeros(SIZE, np.float32), np.zeros((3, 72, 88), np.float32)]
    with pytest.raises(InputError, match="frame 1 is 88x72, earlier frames are 80x72"):
        list(interpolate_stream(frames, BlendBackend(), 2, NO_CUTS))


def test_unsupported_factor():
    with pytest.raises(InputError, match="factor must be one of"):
        interpolate_stream(flat_frames([0.1, 0.2]), BlendBackend(), 3)


def test_same_picture_is_array_equal_of_the_values_whatever_the_sample_sees():
    from stmfnet_trt.core.frames import channels_first
    from stmfnet_trt.runtime.scheduling.scheduler import same_picture

    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (72, 80, 3), np.uint8)
    assert same_picture(channels_first(frame), channels_first(frame.copy()))
    for row, column in ((0, 0), (1, 1), (71, 79), (33, 17)):  # on the sample's grid and off it
        changed = frame.copy()
        changed[row, column, 2] ^= 1
        assert not same_picture(channels_first(frame), channels_first(changed))
    as_float = channels_first(frame).astype(np.float32) / np.float32(255)
    assert same_picture(channels_first(frame), as_float)  # mixed, as at x4: the values decide
    assert not same_picture(channels_first(frame), np.nextafter(as_float, 2, dtype=np.float32))
    with_nan = as_float.copy()
    with_nan[0, 5, 5] = np.nan  # off the grid
    assert not same_picture(with_nan, with_nan.copy())  # as np.array_equal: NaN is not equal to NaN
