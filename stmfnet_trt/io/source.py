"""``open_source``: pick the frame source that fits a path (video file or frame folder)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from stmfnet_trt.errors import InputError
from stmfnet_trt.io.folder_source import FolderSource
from stmfnet_trt.io.frame_source import FrameSource
from stmfnet_trt.io.rates import as_fps
from stmfnet_trt.io.video_source import VideoSource


def open_source(path: str | os.PathLike[str], fps: Fraction | int | float | str | None = None) -> FrameSource:
    """Open a video file or a folder of PNG/JPEG frames for reading.

    Args:
        path: a video file FFmpeg can read, or a folder of images (sorted naturally, so
            ``frame2.png`` comes before ``frame10.png``).
        fps: frame rate to use instead of the input's own. Needed for frame folders, which
            default to ``DEFAULT_FOLDER_FPS`` (25) otherwise, with ``fps_assumed`` set.

    Raises:
        InputError: the path is missing or is not a usable video or frame folder.
        UserError: ``fps`` is not a positive number.
    """
    source_path = Path(path)
    rate = None if fps is None else as_fps(fps)
    if source_path.is_dir():
        return FolderSource(source_path, rate)
    if not source_path.exists():
        raise InputError(f"{source_path}: no such file or folder")
    return VideoSource(source_path, rate)
