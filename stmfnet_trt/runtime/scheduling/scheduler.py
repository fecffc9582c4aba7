"""Slides four-frame windows over a frame stream and doubles its frame rate, level by level.

One x2 level turns n frames into 2n: every input frame followed by the midpoint to the next one
(the last frame is followed by a copy of itself, so the clip keeps its duration at twice the
frame rate). The midpoint of the pair (f[i], f[i+1]) comes from the window
(f[i-1], f[i], f[i+1], f[i+2]): the network's frames at t-3, t-1, t+1, t+3. Where a neighbour
does not exist (the ends of the clip) or lies across a scene cut, the edge frame of the pair is
repeated in its place, so a window never mixes two shots. A pair that straddles a cut gets a
copy of its first frame instead of an interpolation; a pair of identical frames gets a copy too.

x4 and x8 chain two or three levels: level 2 runs the same x2 pass over level 1's output, so its
windows hold originals and level-1 midpoints, equally spaced in time (e.g. the frame at
i + 1/4 comes from the frames at i - 1/2, i, i + 1/2, i + 1).

Frames are (3, H, W) arrays: float32 in [0, 1], or uint8 as decoded (value v standing for
v / 255, ``core.frames.model_values``), which the scheduler hands on as they are: frames passed
through keep their type, interpolated frames are float32 clamped to [0, 1] (uint8 video frames at
``interpolate_rgb``'s last level, checked and converted in one pass). A window whose raw
output diverged (``settled``) gets the blend of its two inner frames instead. Windows are
batched ``batch_size`` at a time for the backend, as views into a ring that holds each frame once
(``window_ring``); output order is preserved and the stream is never held in memory beyond one
batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.core.frames import (
    channels_first,
    contiguous_model_values,
    model_values,
    to_video_frame,
    to_video_frame_within,
)
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.window_ring import WindowRing

SUPPORTED_FACTORS = (2, 4, 8)
# A window whose raw output leaves [-0.5, 1.5] did not interpolate: a network that works overshoots
# [0, 1] by a few hundredths at edges; one that diverged (weights that never saw such content, e.g.
# the demo weights on night-dark footage) lands at tens or hundreds. Clamping hides it.
VALID_OUTPUT_MARGIN = 0.5


@dataclass
class SchedulerStats:
    """What the scheduler did, summed over levels: for the CLI's summary and for tests."""

    windows: int = 0
    scene_cuts: int = 0
    identical_pairs: int = 0
    diverged_windows: int = 0  # raw output beyond VALID_OUTPUT_MARGIN: replaced by a blend

    def add(self, other: SchedulerStats) -> None:
        """Add ``other``'s counts to these (a caller's running totals over several runs)."""
        for name in ("windows", "scene_cuts", "identical_pairs", "diverged_windows"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class _Pair:
    """A consecutive pair with the window that interpolates it.

    ``ids`` are the stream indices of the window's frames (an edge frame repeated shows its own
    index twice), so a backend that keeps frames on the device can reuse them across windows.
    """

    first: np.ndarray
    second: np.ndarray
    window: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    is_cut: bool
    ids: tuple[int, int, int, int]


def levels_for_factor(factor: int) -> int:
    """Number of x2 levels for a frame-rate factor of 2, 4 or 8."""
    if factor not in SUPPORTED_FACTORS:
        raise InputError(f"factor must be one of {SUPPORTED_FACTORS}, got {factor}")
    return factor.bit_length() - 1


def pairs(frames: Iterator[np.ndarray], detector: SceneCutDetector) -> Iterator[_Pair | np.ndarray]:
    """Yield each consecutive pair with its window, then the last frame on its own.

    Cut flags are computed once per pair with one frame of look-ahead, from one thumbnail per frame.
    """
    first = next(frames)
    previous = first  # stands in for the missing frame before the clip
    cut_before = True
    second = next(frames, None)
    second_thumbnail = None if second is None else detector.thumbnail(second)
    cut_here = second is not None and detector.is_cut_between(detector.thumbnail(first), second_thumbnail)
    index = 0
    while second is not None:
        after = next(frames, None)
        after_thumbnail = None if after is None else detector.thumbnail(after)
        cut_after = after is None or detector.is_cut_between(second_thumbnail, after_thumbnail)
        left, left_id = (first, index) if cut_before else (previous, index - 1)
        right, right_id = (second, index + 1) if cut_after else (after, index + 2)
        ids = (left_id, index, index + 1, right_id)
        yield _Pair(first, second, (left, first, second, right), cut_here, ids)
        previous, first, second = first, second, after
        second_thumbnail = after_thumbnail
        index += 1
        cut_before, cut_here = cut_here, cut_after
    yield first


def checked_frames(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Pass frames through, refusing a change of size or layout mid-stream."""
    shape = None
    for index, frame in enumerate(frames):
        if frame.ndim != 3 or frame.shape[0] != 3:
            raise InputError(f"frame {index} must be (3, H, W) RGB, got shape {frame.shape}")
        if shape is None:
            shape = frame.shape
        elif frame.shape != shape:
            raise InputError(
                f"frame {index} is {frame.shape[2]}x{frame.shape[1]}, earlier frames are "
                f"{shape[2]}x{shape[1]}: all frames must have one size"
            )
        yield frame


_SAMPLE_STEP = 16  # same_picture's first look: every 16th pixel in each direction


def same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two frames hold the same values (a uint8 frame read as the model reads it).

    Pixels of a sample first: consecutive frames of moving footage already differ there, and
    then the whole frames (6 MB at 1080p) are not compared; where the sample is the same, the
    whole frames decide, so the answer is ``np.array_equal``'s either way.
    """
    sample = (slice(None), slice(None, None, _SAMPLE_STEP), slice(None, None, _SAMPLE_STEP))
    return _same_values(a[sample], b[sample]) and _same_values(a, b)


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype:
        a, b = model_values(a), model_values(b)
    return np.array_equal(a, b)


def needs_window(pair: _Pair, stats: SchedulerStats) -> bool:
    """Whether ``pair`` is interpolated; a cut or identical pair is copied instead (counted)."""
    if pair.is_cut:
        stats.scene_cuts += 1
        return False
    if same_picture(pair.first, pair.second):
        stats.identical_pairs += 1
        return False
    stats.windows += 1
    return True


def settled(
    raw: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    stats: SchedulerStats,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The frame a window contributes: its (3, H, W) raw output clamped to [0, 1] (into ``out``,
    which may be ``raw`` itself, or a new array), or, where the network diverged (output beyond
    the margin, or NaN/inf anywhere), the blend of the pair ``first``/``second``.

    A diverged output clamped is garbage (saturated noise) in the user's video; the blend is a
    soft but faithful frame. Every backend path goes through here, so they stay bit-identical,
    and the count lets ``run`` say how many frames were replaced.
    """
    # Written so that NaN fails the test: ``NaN > 1.5`` is False, ``NaN <= 1.5`` is False too, and
    # a non-finite output (an overflowing network, a forged model) must not pass as a black frame.
    lowest, highest = raw.min(), raw.max()
    if not (lowest >= -VALID_OUTPUT_MARGIN and highest <= 1.0 + VALID_OUTPUT_MARGIN):
        stats.diverged_windows += 1
        return (model_values(first) + model_values(second)) * np.float32(0.5)
    return np.clip(raw, 0.0, 1.0, out=out)


def settled_video(
    raw: np.ndarray, first: np.ndarray, second: np.ndarray, stats: SchedulerStats
) -> np.ndarray:
    """``settled`` then ``to_video_frame``, for a level whose frames go to the encoder: the (3, H, W)
    uint8 view of the video frame made of ``raw`` (range test, clamp and conversion in one pass
    over blocks of rows: ``to_video_frame_within``), or the float blend of the pair where the
    network diverged. The same bytes reach the encoder as through ``settled``; ``raw`` is left as
    it was."""
    video = to_video_frame_within(raw, -VALID_OUTPUT_MARGIN, 1.0 + VALID_OUTPUT_MARGIN)
    if video is None:
        return settled(raw, first, second, stats)  # diverged: counted there, and blended
    return channels_first(video)


class _FrameRanges:
    """(min, max) of each frame that waiting windows hold, measured once per frame (by stream index)
    for ``check_windows``: scanning the batch read each frame once per window holding it, up to
    four times (5 % of a 1080p ``run --backend blend``). The batch's range is the same numbers,
    except that a uint8 frame counts as [0, 1], the range every uint8 value lies in (unread)."""

    def __init__(self) -> None:
        self._ranges: dict[int, tuple[float, float]] = {}

    def measure(self, pair: _Pair) -> None:
        for frame_id, frame in zip(pair.ids, pair.window, strict=True):
            if frame_id not in self._ranges:
                uint8 = frame.dtype == np.uint8
                self._ranges[frame_id] = (0.0, 1.0) if uint8 else (float(frame.min()), float(frame.max()))

    def of_batch(self, windows: list[_Pair]) -> tuple[float, float]:
        """The batch's (min, max); NaN anywhere gives NaN, as ``ndarray.min``/``max`` do."""
        lows, highs = zip(*(self._ranges[frame_id] for pair in windows for frame_id in pair.ids), strict=True)
        return float(np.min(lows)), float(np.max(highs))

    def forget_before(self, frame_id: int) -> None:
        self._ranges = {i: r for i, r in self._ranges.items() if i >= frame_id}


def double_frame_rate(
    frames: Iterable[np.ndarray],
    backend: Backend,
    detector: SceneCutDetector,
    batch_size: int = 1,
    stats: SchedulerStats | None = None,
    to_video: bool = False,
) -> Iterator[np.ndarray]:
    """One x2 level over a stream of at least two frames (see the module docstring).

    ``to_video``: interpolated frames come as uint8 (3, H, W) views of video frames
    (``settled_video``) instead of clamped float32, for the last level of ``interpolate_rgb``.
    """
    stats = stats if stats is not None else SchedulerStats()
    pending: list[np.ndarray | int] = []  # frames, or indices into ``windows``
    windows: list[_Pair] = []  # the pairs whose windows wait for inference
    ring = WindowRing(batch_size)
    ranges = _FrameRanges()

    def flush() -> Iterator[np.ndarray]:
        if windows:
            batch = ring.batch()
            value_range = None if batch.dtype == np.uint8 else ranges.of_batch(windows)
            raw = backend.interpolate(batch, value_range=value_range)
            ring.release()
            ranges.forget_before(windows[-1].ids[1])  # later windows start at this pair's first frame
        for item in pending:
            if isinstance(item, int):
                pair = windows[item]
                if to_video:
                    yield settled_video(raw[item], pair.first, pair.second, stats)
                else:  # clamped in place: ``raw`` is ours (``Backend.interpolate``)
                    yield settled(raw[item], pair.first, pair.second, stats, out=raw[item])
            else:
                yield item
        pending.clear()
        windows.clear()

    for item in pairs(iter(checked_frames(frames)), detector):
        if isinstance(item, np.ndarray):  # the last frame: keep the duration with a copy
            pending += [item, item]
            break
        pending.append(item.first)
        if not needs_window(item, stats):
            pending.append(item.first)
            if not windows:  # nothing waits for inference: hand the frames on now (live streams)
                yield from flush()
        else:
            pending.append(len(windows))
            windows.append(item)
            ring.place(item.window, item.ids)
            ranges.measure(item)
            if len(windows) >= batch_size:
                yield from flush()
    yield from flush()


def interpolate_stream(
    frames: Iterable[np.ndarray],
    backend: Backend,
    factor: int,
    detector: SceneCutDetector | None = None,
    batch_size: int = 1,
    stats: SchedulerStats | None = None,
    last_level_to_video: bool = False,
) -> Iterator[np.ndarray]:
    """``factor`` x the frames of a stream of >= 2 frames, by chained x2 levels.

    A backend may bring its own x2 level (``Backend.runs_own_x2_level``) that yields the same
    frames as ours: the TensorRT pipeline keeps frames on the GPU that way, and gets them as
    C-contiguous float32. Every other backend runs ``double_frame_rate`` here, its last level
    with ``to_video`` when ``last_level_to_video`` (``interpolate_rgb``).
    """
    detector = detector if detector is not None else SceneCutDetector()
    stats = stats if stats is not None else SchedulerStats()
    stream: Iterable[np.ndarray] = frames
    if backend.runs_own_x2_level:
        stream = (contiguous_model_values(frame) for frame in frames)
    levels = levels_for_factor(factor)
    for level in range(1, levels + 1):
        stream = (
            backend.double_frame_rate(stream, detector, batch_size, stats)
            if backend.runs_own_x2_level
            else double_frame_rate(
                stream, backend, detector, batch_size, stats, to_video=last_level_to_video and level == levels
            )
        )
    return iter(stream)


def interpolate_rgb(
    frames: Iterable[np.ndarray],
    backend: Backend,
    factor: int,
    detector: SceneCutDetector | None = None,
    batch_size: int = 1,
    stats: SchedulerStats | None = None,
) -> Iterator[np.ndarray]:
    """``interpolate_stream`` for video frames: uint8 (H, W, 3) RGB in, uint8 out, as the decoder
    gives them and the encoder takes them.

    A backend that takes video frames itself (``Backend.takes_video_frames``: the Triton client's
    stream wire, which sends each frame once, as uint8, to a server running this scheduler) gets
    them as they are; every other backend's level gets them as uint8 (3, H, W) views
    (``channels_first``), converted where a backend reads them, and the frames passed through come
    back as the very arrays that came in. The last level's interpolated frames are checked and
    converted to video in one pass (``settled_video``).
    """
    detector = detector if detector is not None else SceneCutDetector()
    stats = stats if stats is not None else SchedulerStats()
    if backend.takes_video_frames:
        yield from backend.interpolate_rgb(frames, factor, detector, batch_size, stats)
        return
    views = (channels_first(frame) for frame in frames)
    video = interpolate_stream(views, backend, factor, detector, batch_size, stats, last_level_to_video=True)
    for frame in video:  # interpolated frames of the last level are uint8 already (``settled_video``)
        yield to_video_frame(frame)
