"""What every frame source offers, whatever the frames come from.

The scheduler needs the same few facts from a video file and from a folder of images: frame
size, exact frame rate, a frame count for progress bars, whether there is audio to carry over,
and a stream of RGB frames in display order. Putting them behind one small class lets the rest
of the pipeline ignore where the frames come from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from stmfnet_trt.core.closeable import Closeable
from stmfnet_trt.core.errors import InputError

# The largest frame any reader accepts: 8192 x 8192 (8K UHD is 7680 x 4320). Checked against
# the size a file's header declares before anything is decoded, so that a few forged bytes
# claiming 16000 x 16000 cannot make the decoder allocate gigabytes (FFmpeg itself allows up
# to ~268 megapixels, 800 MB per RGB frame).
MAX_FRAME_PIXELS = 8192 * 8192


def check_frame_pixels(width: int, height: int, what: str) -> None:
    """Raise InputError naming ``what`` unless ``width`` x ``height`` is a usable frame size."""
    if width <= 0 or height <= 0:
        raise InputError(f"{what}: declares a frame size of {width}x{height} (damaged header)")
    if width * height > MAX_FRAME_PIXELS:
        raise InputError(
            f"{what}: frames of {width}x{height} are larger than the {MAX_FRAME_PIXELS // 1_000_000} "
            "megapixels (8192x8192) stmfnet-trt reads; scale the input down first"
        )


class FrameSource(Closeable, ABC):
    """A stream of frames, each an ``HxWx3`` ``uint8`` RGB array, in display order.

    Frames come out as displayed, not as stored: a video's display matrix (phone footage) and
    an image's EXIF orientation are applied, so ``width`` and ``height`` are the upright size.

    Attributes:
        path: the file or folder the frames come from.
        width, height: upright frame size in pixels; every frame has it.
        fps: exact frame rate.
        fps_assumed: True when ``fps`` is a default, not read from the input or given by the
            caller (frame folders carry no rate); callers should tell the user.
        frame_count: expected number of frames, or None when the input does not say. For a
            video it comes from the container and is an estimate; iteration is the truth.
        has_audio: whether the input has an audio stream that a sink could carry over.

    Use as a context manager (or call ``close``) to release the open file.
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    fps_assumed: bool
    frame_count: int | None
    has_audio: bool

    @abstractmethod
    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield every frame, the last ones included; raise InputError on unreadable data."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.path)!r}, {self.width}x{self.height}, "
            f"fps={self.fps}, frames={self.frame_count}, audio={self.has_audio})"
        )
