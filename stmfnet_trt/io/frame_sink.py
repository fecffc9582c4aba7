"""What every frame sink offers: checked writes and an all-or-nothing output.

Subclasses only encode frames; the lifecycle lives here once: frames are checked before they
reach an encoder (a wrong shape would otherwise surface as an obscure FFmpeg error or a
garbled video), and the output becomes visible under its final name only when ``close``
succeeds. Leaving a ``with`` block through an exception, or calling ``abort``, deletes it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from fractions import Fraction
from types import TracebackType

import numpy as np

from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.io.atomic import AtomicOutput


class FrameSink(ABC):
    """Writes ``HxWx3`` ``uint8`` RGB frames, all of size ``width`` x ``height``.

    Attributes:
        path: the final output path (nothing exists there until ``close`` succeeds).
        width, height, fps: as given to ``open_sink``.
        frames_written: frames accepted so far.
    """

    def __init__(self, output: AtomicOutput, width: int, height: int, fps: Fraction) -> None:
        self._output = output
        self.path = output.final
        self.width, self.height, self.fps = width, height, fps
        self.frames_written = 0
        self._open = True

    def write(self, frame: np.ndarray) -> None:
        """Append one frame. Raises InputError if it is not ``(height, width, 3)`` ``uint8``."""
        if not self._open:
            raise ValueError(f"{self.path}: sink is already closed")
        expected = (self.height, self.width, 3)
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.shape != expected:
            got = f"{frame.shape} {frame.dtype}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise InputError(f"{self.path}: frame must be a uint8 array of shape {expected}, got {got}")
        self._write(np.ascontiguousarray(frame))
        self.frames_written += 1

    def close(self) -> None:
        """Finish the output and move it onto its final name; on any failure, remove it.

        Raises UserError if no frame was written: an empty video is never a useful result.
        """
        if not self._open:
            return
        try:
            if self.frames_written == 0:
                raise UserError(f"{self.path}: no frames were written; nothing saved")
            self._finish()
            self._open = False
            self._output.commit()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Stop writing and delete everything written so far; the final path is untouched."""
        self._open = False
        try:
            self._release()
        finally:
            self._output.discard()

    @abstractmethod
    def _write(self, frame: np.ndarray) -> None:
        """Encode one checked, C-contiguous frame into ``self._output.temp``."""

    @abstractmethod
    def _finish(self) -> None:
        """Flush encoders and close files so that the temporary output is complete."""

    def _release(self) -> None:  # noqa: B027 - sinks without open files need no cleanup
        """Close open files without finishing them (the output is about to be deleted)."""

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
