"""Interpolate a YUV4MPEG2 stream into another, live: the job behind ``stmfnet-trt run - -o -``.

The frames flow through the same scheduler as ``run`` (``interpolate_rgb``: windows, scene
cuts, the diverged-window fallback, x2/x4/x8) and the same RGB conversions, so a clip piped
through gives the frames ``run`` gives the file. Nothing waits for the end of the input: a frame
is read when the scheduler needs it (its window reaches two frames ahead, one more for the cut
check) and each output frame is written and flushed the moment it exists, so the latency is a
few input frames plus inference and the memory is a few frames, however long the stream runs.

The output header is written with the first output frame, after two input frames have been read
and checked: bad input writes nothing. A stream damaged or cut short part-way still delivers
every frame up to the damage, then raises (the CLI exits 2). When the reader of the output goes
away (EPIPE), ``OutputClosed`` says after how many frames.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import BinaryIO

from stmfnet_trt.core.contract import check_frame_size
from stmfnet_trt.core.errors import InputError, Param
from stmfnet_trt.core.progress import progress_bar
from stmfnet_trt.io.y4m import Y4MReader, Y4MWriter
from stmfnet_trt.io.yuv import FrameConverter
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_rgb, levels_for_factor
from stmfnet_trt.runtime.scheduling.video import MIN_FRAMES

# What a shell reports for a filter killed by SIGPIPE (128 + 13), as `yes | head` shows for `yes`:
# a pipeline under `set -o pipefail` sees a closed output the same way for us as for any filter.
EXIT_OUTPUT_CLOSED = 141


@dataclass(frozen=True)
class StreamOptions:
    """Settings of a streamed run; ``matrix`` None picks BT.601/BT.709 by frame size."""

    factor: int = 2
    batch_size: int = 1
    max_frames: int | None = None
    scene_detector: SceneCutDetector = field(default_factory=SceneCutDetector)
    input_fps: Fraction | None = None
    matrix: str | None = None
    progress: bool = False


@dataclass(frozen=True)
class StreamSummary:
    """What a streamed run produced, for the CLI's closing line and for tests."""

    input_frames: int
    output_frames: int
    output_fps: Fraction
    stats: SchedulerStats


class OutputClosed(Exception):
    """The reader of the output stream closed it (EPIPE) after ``frames_written`` frames."""

    def __init__(self, frames_written: int) -> None:
        super().__init__(f"the output was closed by its reader after {frames_written} frames")
        self.frames_written = frames_written


def interpolate_y4m(
    source: BinaryIO, sink: BinaryIO, backend: Backend, options: StreamOptions = StreamOptions()
) -> StreamSummary:
    """Read y4m from ``source``, write ``options.factor`` x its frames and rate as y4m to ``sink``."""
    levels_for_factor(options.factor)
    reader = Y4MReader(source)
    header = reader.header
    check_frame_size(header.height, header.width)
    rate = options.input_fps or header.rate
    if rate is None:
        raise InputError("the y4m header states no frame rate (F0:0): pass ", Param("input_fps"))
    converter = FrameConverter(reader.layout, header.colour(options.matrix))
    planes = itertools.islice(reader, options.max_frames)
    frames = (converter.to_rgb(frame) for frame in planes)
    head = list(itertools.islice(frames, MIN_FRAMES))
    if len(head) < MIN_FRAMES:
        reader.check_complete()
        raise InputError(f"need at least {MIN_FRAMES} frames to interpolate, the stream has {len(head)}")
    writer = Y4MWriter(sink, header.with_rate(rate * options.factor))
    stats = SchedulerStats()
    output = interpolate_rgb(
        itertools.chain(head, frames),
        backend,
        options.factor,
        options.scene_detector,
        options.batch_size,
        stats,
    )
    # leave=False: the bar goes away, so the closing line (or the closed-output line) stands alone
    with progress_bar(options.progress, desc="interpolating", leave=False) as bar:
        for frame in output:
            try:
                writer.write(converter.to_planes(frame))
            except BrokenPipeError as exc:
                raise OutputClosed(writer.frames_written) from exc
            bar.update()
    reader.check_complete()
    return StreamSummary(reader.frames_read, writer.frames_written, rate * options.factor, stats)


@contextlib.contextmanager
def stdout_as_y4m_sink() -> Iterator[BinaryIO]:
    """The process's stdout as a binary sink for the y4m stream alone.

    While open, file descriptor 1 points at stderr: a progress message printed by a backend (the
    one-time ONNX export says what it does) or a native library's log lands there instead of
    corrupting the frames. A reader that left with bytes still buffered gets nothing more.
    """
    sys.stdout.flush()
    stdout_fd = sys.stdout.fileno()
    sink = os.fdopen(os.dup(stdout_fd), "wb")
    saved = os.dup(stdout_fd)
    os.dup2(sys.stderr.fileno(), stdout_fd)
    try:
        yield sink
    finally:
        sys.stdout.flush()
        os.dup2(saved, stdout_fd)
        os.close(saved)
        with contextlib.suppress(BrokenPipeError):
            sink.close()
