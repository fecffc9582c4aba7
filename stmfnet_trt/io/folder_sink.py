"""Frames into a folder of PNG files: ``frame_000000.png``, ``frame_000001.png``, ...

Lossless, and what image tools and training scripts read directly. The folder holds no frame
rate and no audio: the caller should keep the rate (it is logged).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np

from stmfnet_trt.io.atomic import AtomicOutput
from stmfnet_trt.io.audio import has_audio
from stmfnet_trt.io.frame_sink import FrameSink
from stmfnet_trt.io.images import encode_png

log = logging.getLogger(__name__)

FRAME_NAME = "frame_{:06d}.png"


class FolderSink(FrameSink):
    """Writes PNG frames into a temporary folder that ``close`` renames onto ``path``."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: Fraction,
        *,
        audio_from: Path | None,
        overwrite: bool = False,
    ) -> None:
        super().__init__(AtomicOutput(path, directory=True, overwrite=overwrite), width, height, fps)
        if audio_from is not None and has_audio(audio_from):
            log.warning("%s: a frame folder cannot hold audio; the audio of %s is not kept", path, audio_from)
        log.info("%s: writing PNG frames; their rate (%s fps) is not stored in the folder", path, fps)

    def _write(self, frame: np.ndarray) -> None:
        (self._output.temp / FRAME_NAME.format(self.frames_written)).write_bytes(encode_png(frame))

    def _finish(self) -> None:
        """Every PNG is complete once written: nothing left to flush."""
