"""One video's way through a batch job: its chunks out, its frames back in order, its output.

Chunks come back from the workers in any order; the output is written strictly in order, so a
finished chunk waits here until all chunks before it are written. The output is the same atomic
sink as ``run`` uses: it appears under its name when the last frame is written, and a failure at
any point (unreadable input, a chunk that keeps failing) removes everything written so far.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from stmfnet_trt.core.contract import check_frame_size
from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.io import open_sink, open_source
from stmfnet_trt.io.frame_sink import FrameSink
from stmfnet_trt.io.video_sink import VIDEO_SUFFIXES
from stmfnet_trt.runtime.scheduling.chunks import Chunk, plan_chunks
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.video import MIN_FRAMES

DEFAULT_SUFFIX = ".mp4"


def output_paths(sources: Sequence[Path], out_dir: Path, factor: int) -> list[Path]:
    """``OUT_DIR/<stem>_x<factor><suffix>`` per source (its container where we write it, else .mp4).

    Refuses two sources that would write the same output, before any work starts.
    """
    outputs = []
    for source in sources:
        suffix = source.suffix.lower() if source.suffix.lower() in VIDEO_SUFFIXES else DEFAULT_SUFFIX
        outputs.append(out_dir / f"{source.stem}_x{factor}{suffix}")
    for output, group in itertools.groupby(sorted(zip(outputs, sources, strict=True)), key=lambda p: p[0]):
        clashing = [str(source) for _, source in group]
        if len(clashing) > 1:
            raise UserError(f"{', '.join(clashing)} would all be written to {output}: rename one of them")
    return outputs


class VideoAssembly:
    """Plans one video's chunks and writes their results in order.

    ``error`` is set (and the partial output removed) when the video fails; ``done`` when its
    output has been committed.
    """

    def __init__(
        self, source: Path, output: Path, factor: int, overwrite: bool, assume_constant_rate: bool = False
    ) -> None:
        self.source, self.output = source, output
        self.factor, self.overwrite = factor, overwrite
        self.assume_constant_rate = assume_constant_rate
        self.error: str | None = None
        self.done = False
        self.frames_written = 0
        self.retries = 0
        self.expected_frames: int | None = None
        self._sink: FrameSink | None = None
        self._held: dict[int, np.ndarray] = {}
        self._next_index = 0
        self._chunk_count: int | None = None

    def probe(self) -> None:
        """Read the header (frame count for progress); a file that cannot be opened fails here."""
        with open_source(self.source, assume_constant_rate=self.assume_constant_rate) as reader:
            check_frame_size(reader.height, reader.width)
            if reader.frame_count is not None:
                self.expected_frames = self.factor * reader.frame_count

    def chunks(self, chunk_frames: int, detector: SceneCutDetector) -> Iterator[tuple[Chunk, np.ndarray]]:
        """Decode the video and yield its chunks; opens the output once two frames are read."""
        with open_source(self.source, assume_constant_rate=self.assume_constant_rate) as reader:
            frames = iter(reader)
            head = list(itertools.islice(frames, MIN_FRAMES))
            if len(head) < MIN_FRAMES:
                raise InputError(f"{self.source}: need at least {MIN_FRAMES} frames, found {len(head)}")
            self._sink = open_sink(
                self.output,
                reader.width,
                reader.height,
                reader.fps * self.factor,
                audio_from=self.source if reader.has_audio else None,
                overwrite=self.overwrite,
            )
            count = 0
            for planned in plan_chunks(itertools.chain(head, frames), self.factor, chunk_frames, detector):
                count += 1
                yield planned
        self._chunk_count = count
        self._finish_if_complete()

    @property
    def held(self) -> int:
        """Finished chunks waiting for an earlier one (memory the driver must bound)."""
        return len(self._held)

    def accept(self, index: int, frames: np.ndarray) -> int:
        """Take chunk ``index``'s output; write what is now in order; return frames written."""
        if self.error is not None:
            return 0
        self._held[index] = frames
        before = self.frames_written
        while self._next_index in self._held:
            for frame in self._held.pop(self._next_index):
                self._sink.write(frame)
                self.frames_written += 1
            self._next_index += 1
        self._finish_if_complete()
        return self.frames_written - before

    def fail(self, reason: str) -> None:
        """Give the video up: remove its partial output and drop held results."""
        if self.error is not None or self.done:
            return
        self.error = reason
        self._held.clear()
        if self._sink is not None:
            self._sink.abort()

    def _finish_if_complete(self) -> None:
        if self._chunk_count is not None and self._next_index == self._chunk_count and not self.done:
            self._sink.close()
            self.done = True
