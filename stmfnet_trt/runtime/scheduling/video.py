"""Interpolate a whole video or frame folder: read, schedule windows, write atomically.

This is the job behind ``stmfnet-trt run``; it is backend-agnostic.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from stmfnet_trt.core.contract import check_frame_size
from stmfnet_trt.core.errors import InputError
from stmfnet_trt.core.progress import progress_bar
from stmfnet_trt.io import FrameSource, open_sink, open_source
from stmfnet_trt.io.sink import check_encoder_request, check_output_path
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.scheduling.handoff import read_ahead, write_behind
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_rgb, levels_for_factor

MIN_FRAMES = 2
DECODE_AHEAD = 4  # decoded frames waiting for the scheduler
ENCODE_BEHIND = 4  # output frames waiting for the encoder


@dataclass(frozen=True)
class RunOptions:
    """Settings of one run; the defaults are what ``stmfnet-trt run`` uses."""

    factor: int = 2
    batch_size: int = 1
    max_frames: int | None = None
    scene_detector: SceneCutDetector = field(default_factory=SceneCutDetector)
    overwrite: bool = False
    input_fps: Fraction | None = None
    assume_constant_rate: bool = False  # read a variable-rate clip at its average rate
    progress: bool = True
    preset: str | None = None  # the video encoder's (libx264) preset; None: medium
    encoder_threads: int | None = None  # None: FFmpeg's choice


@dataclass(frozen=True)
class RunSummary:
    """What a run produced, printed by the CLI and checked by tests."""

    output: Path
    input_frames: int
    output_frames: int
    output_fps: Fraction
    stats: SchedulerStats


def _counted(frames: Iterator[np.ndarray], counter: list[int]) -> Iterator[np.ndarray]:
    for frame in frames:
        counter[0] += 1
        yield frame


def _open_input(source: str | Path, options: RunOptions) -> FrameSource:
    return open_source(Path(source), fps=options.input_fps, assume_constant_rate=options.assume_constant_rate)


def _frames(reader: FrameSource, options: RunOptions) -> Iterator[np.ndarray]:
    """The reader's frames, cut to ``max_frames``."""
    check_frame_size(reader.height, reader.width)
    return itertools.islice(reader, options.max_frames)


def _head(frames: Iterator[np.ndarray], reader: FrameSource) -> list[np.ndarray]:
    """The first two frames, which must exist."""
    head = list(itertools.islice(frames, MIN_FRAMES))
    if len(head) < MIN_FRAMES:
        raise InputError(
            f"{reader.path}: need at least {MIN_FRAMES} frames to interpolate, found {len(head)}"
        )
    return head


def interpolate_video(
    source: str | Path,
    output: str | Path,
    backend: Backend | Callable[[], Backend],
    options: RunOptions = RunOptions(),
) -> RunSummary:
    """Write ``options.factor`` x the frames of ``source`` to ``output`` at ``factor`` x its fps.

    Nothing is written until two frames have been read and checked, and the output appears
    under its final name only when every frame has been written. ``backend`` may be a function
    that opens one: it is called once the output's path and settings are checked and the input's
    first two frames read, so that a wrong path or a broken clip costs a second, not the minutes
    of a first export or engine build (the input is opened once either way).

    Decoding and encoding run on threads of their own (``handoff``), a few frames ahead of and
    behind the scheduler: the encoder, the slowest stage without a model, works while the
    scheduler and backend do.
    """
    levels_for_factor(options.factor)  # validate before touching any file
    source, output = Path(source), Path(output)
    check_output_path(output, options.overwrite, inputs=[source])
    check_encoder_request(output, options.preset, options.encoder_threads)
    with (
        _open_input(source, options) as reader,
        read_ahead(_frames(reader, options), DECODE_AHEAD, "decode") as frames,
    ):
        head = _head(frames, reader)
        model = backend if isinstance(backend, Backend) else backend()
        truncated = options.max_frames is not None
        fps = reader.fps * options.factor
        read = [0]
        counted = _counted(itertools.chain(head, frames), read)
        stats = SchedulerStats()
        expected = (
            None
            if reader.frame_count is None
            else options.factor
            * (min(reader.frame_count, options.max_frames) if truncated else reader.frame_count)
        )
        written = 0
        with (
            open_sink(
                output,
                reader.width,
                reader.height,
                fps,
                audio_from=source if reader.has_audio else None,
                overwrite=options.overwrite,
                preset=options.preset,
                encoder_threads=options.encoder_threads,
                inputs=[source],
                trim_audio=truncated,
            ) as sink,
            progress_bar(options.progress, total=expected, desc="interpolating") as bar,
            write_behind(sink.write, ENCODE_BEHIND, "encode") as writer,
        ):
            for frame in interpolate_rgb(
                counted, model, options.factor, options.scene_detector, options.batch_size, stats
            ):
                writer.put(frame)
                written += 1
                bar.update()
    return RunSummary(output, read[0], written, fps, stats)
