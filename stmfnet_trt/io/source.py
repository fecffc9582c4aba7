"""``open_source``: pick the frame source that fits a path (video file or frame folder)."""

from __future__ import annotations

import os
import stat
from fractions import Fraction
from pathlib import Path

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.io.folder_source import FolderSource
from stmfnet_trt.io.frame_source import FrameSource
from stmfnet_trt.io.rates import as_fps
from stmfnet_trt.io.video_source import VideoSource


def open_source(
    path: str | os.PathLike[str],
    fps: Fraction | int | float | str | None = None,
    *,
    assume_constant_rate: bool = False,
) -> FrameSource:
    """Open a video file or a folder of PNG/JPEG frames for reading (read-only).

    Frames come out upright (display matrix, EXIF orientation applied).

    Args:
        path: a video file FFmpeg can read, or a folder of images (sorted naturally, so
            ``frame2.png`` comes before ``frame10.png``).
        fps: frame rate to use instead of the input's own. Needed for frame folders, which
            default to ``DEFAULT_FOLDER_FPS`` (25) otherwise, with ``fps_assumed`` set.
        assume_constant_rate: read a variable-frame-rate video as constant-rate (at its
            average rate, or ``fps``) with a warning, instead of refusing it. Frame folders
            have no timestamps and are always constant-rate.

    Raises:
        InputError: the path is missing or unreadable, or is not a usable video or frame
            folder; a variable-frame-rate video unless ``assume_constant_rate``.
        UserError: ``fps`` is not a number from 1/3600 to 10000 (``rates.as_fps``).
    """
    source_path = Path(path)
    rate = None if fps is None else as_fps(fps)
    try:
        is_folder = stat.S_ISDIR(source_path.stat().st_mode)
    except FileNotFoundError as exc:
        raise InputError(f"{source_path}: no such file or folder") from exc
    except OSError as exc:  # a symlink loop, a path through a file, no permission on a parent
        raise InputError(f"{source_path}: cannot open ({exc.strerror or exc})") from exc
    if is_folder:
        return FolderSource(source_path, rate)
    return VideoSource(source_path, rate, assume_constant_rate=assume_constant_rate)
