"""Cutting one video into chunks that workers interpolate independently, frame-exactly.

A chunk is a run of *core* input frames ``[start, stop)`` plus the *context* frames around it
that the scheduler's windows reach for. A worker runs the unchanged scheduler
(``interpolate_rgb``) over context + core + context and keeps only the output frames that
belong to the core: ``factor`` outputs per core input frame. Put back in order, the chunks'
outputs are the frames a single ``run`` over the whole video writes, frame for frame.

How much context (input frames, before / after the core), per number of x2 levels:

* x2: a midpoint between f[i] and f[i+1] reads f[i-1] .. f[i+2], and the stream's edge makes
  only the midpoints next to it inexact: 1 frame before, 2 after.
* x4, x8: level 2 reads level 1's frames, which are exact from 1 frame inside the edge; its
  windows reach 3/4 of an input frame further. Summed over the halving spacings, the inexact
  zone stays under 2 input frames on the left and 2 on the right of the last exact midpoint:
  2 before, 3 after.

A detected scene cut needs no context across it: the scheduler never looks across a cut, and a
stream that ends (or starts) at a cut behaves exactly like the whole video does there (the last
frame's copy equals the copy a cut pair gets). So context stops at cuts, and a chunk ends at
every cut, which splits a video into its shots for free. Cut flags are computed here with the
same detector on the same thumbnails of the same frames the scheduler sees, so both agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.core.frames import channels_first
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector, Thumbnail
from stmfnet_trt.runtime.scheduling.scheduler import interpolate_rgb, levels_for_factor

# x2 levels -> (input frames of context before the core, after it); see the module docstring.
_CONTEXT = {1: (1, 2), 2: (2, 3), 3: (2, 3)}


def context_frames(factor: int) -> tuple[int, int]:
    """Input frames of context a chunk needs (before, after) at ``factor``."""
    return _CONTEXT[levels_for_factor(factor)]


@dataclass(frozen=True)
class Chunk:
    """Input frames ``[first, last)`` are sent; outputs of ``[start, stop)`` are kept.

    ``index`` orders the chunks of one video; ``final`` marks the one that ends the video.
    """

    index: int
    start: int
    stop: int
    first: int
    last: int
    final: bool

    def output_slice(self, factor: int) -> slice:
        """Where the core's frames lie in the output of a stream over ``[first, last)``."""
        return slice(factor * (self.start - self.first), factor * (self.stop - self.first))


class _Lookahead:
    """Frames by index with their cut flags, read on demand and dropped once behind us."""

    def __init__(self, frames: Iterable[np.ndarray], detector: SceneCutDetector) -> None:
        self._frames = iter(frames)
        self._detector = detector
        self._held: dict[int, np.ndarray] = {}
        self._cut_before: dict[int, bool] = {}
        self._previous: Thumbnail | None = None  # of the last frame read
        self._read = 0
        self.ended = False

    def has(self, index: int) -> bool:
        """Whether frame ``index`` exists, reading up to it if needed."""
        while self._read <= index and not self.ended:
            frame = next(self._frames, None)
            if frame is None:
                self.ended = True
                break
            thumbnail = self._detector.thumbnail(channels_first(frame))
            self._cut_before[self._read] = self._detector.is_cut_between(self._previous, thumbnail)
            self._held[self._read], self._previous = frame, thumbnail
            self._read += 1
        return index < self._read

    def cut_before(self, index: int) -> bool:
        """Whether a cut separates frames ``index - 1`` and ``index`` (both must have been read)."""
        return self._cut_before[index]

    def frames(self, first: int, last: int) -> np.ndarray:
        return np.stack([self._held[i] for i in range(first, last)])

    def forget_before(self, index: int) -> None:
        for old in [i for i in self._held if i < index]:
            del self._held[old]
            del self._cut_before[old]


def plan_chunks(
    frames: Iterable[np.ndarray],
    factor: int,
    chunk_frames: int,
    detector: SceneCutDetector,
) -> Iterator[tuple[Chunk, np.ndarray]]:
    """Chunks of at most ``chunk_frames`` core frames, each with its frames (uint8 ``[n, H, W, 3]``).

    Streams: a chunk is yielded as soon as its context after it has been read, and frames no
    later chunk needs are dropped.
    """
    if chunk_frames < 1:
        raise InputError(f"chunk_frames must be at least 1, got {chunk_frames}")
    before, after = context_frames(factor)
    reader = _Lookahead(frames, detector)
    start = 0
    for index in itertools.count():
        if not reader.has(start):
            return
        stop = start + 1
        while stop - start < chunk_frames and reader.has(stop) and not reader.cut_before(stop):
            stop += 1
        first = start
        while first > max(0, start - before) and not reader.cut_before(first):
            first -= 1
        last = stop
        while last < stop + after and reader.has(last) and not reader.cut_before(last):
            last += 1
        final = not reader.has(stop)
        yield Chunk(index, start, stop, first, last, final), reader.frames(first, last)
        reader.forget_before(stop - before)
        start = stop


def interpolate_chunk(
    frames: np.ndarray,
    chunk: Chunk,
    backend: Backend,
    factor: int,
    detector: SceneCutDetector,
    batch_size: int = 1,
) -> np.ndarray:
    """The core's ``factor * (stop - start)`` output frames (uint8) from the chunk's frames."""
    if len(frames) != chunk.last - chunk.first:
        raise InputError(f"chunk {chunk.index}: {len(frames)} frames for [{chunk.first}, {chunk.last})")
    stream = interpolate_rgb(frames, backend, factor, detector, batch_size)
    wanted = chunk.output_slice(factor)
    return np.stack(list(itertools.islice(stream, wanted.start, wanted.stop)))
