"""``open_sink``: check an output path and open the frame sink that fits it.

Every check that can refuse the job runs here, before any file is created or any frame is
computed: an existing output (without ``overwrite``), an output that is one of the inputs, a
missing output folder, an unknown extension, impossible frame sizes or rates.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

from stmfnet_trt.errors import UserError
from stmfnet_trt.io.folder_sink import FolderSink
from stmfnet_trt.io.frame_sink import FrameSink
from stmfnet_trt.io.rates import as_fps
from stmfnet_trt.io.video_sink import DEFAULT_CRF, VIDEO_SUFFIXES, VideoSink

PathLike = str | os.PathLike[str]


def is_folder_output(path: PathLike) -> bool:
    """A path without extension, or ending in a slash, names a frame folder."""
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or Path(text).suffix == ""


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file or folder (through links, when they exist)."""
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _check_output_path(path: Path, folder: bool, overwrite: bool, inputs: Iterable[Path]) -> None:
    for input_path in inputs:
        if _same_file(path, input_path):
            raise UserError(f"{path}: the output would overwrite the input {input_path}; choose another name")
    if not path.parent.is_dir():
        raise UserError(f"{path}: the folder {path.parent} does not exist")
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise UserError(f"{path} already exists; choose another name or allow overwriting")
        if path.is_dir() != folder:
            kind = "a folder" if path.is_dir() else "a file"
            raise UserError(f"{path} exists and is {kind}; refusing to replace it with another kind")


def open_sink(
    path: PathLike,
    width: int,
    height: int,
    fps: Fraction,
    audio_from: PathLike | None = None,
    overwrite: bool = False,
    *,
    crf: int = DEFAULT_CRF,
    inputs: Iterable[PathLike] = (),
    trim_audio: bool = False,
) -> FrameSink:
    """Open a video file (.mp4/.mkv/.mov: H.264) or a PNG frame folder for writing.

    Args:
        path: output file, or folder (no extension or a trailing slash).
        width, height: size of every frame that will be written.
        fps: exact output frame rate, e.g. ``2 * source.fps``.
        audio_from: file whose audio to carry into a video output (copied, or re-encoded to
            AAC if the container needs it); None for no audio. Audio problems only warn.
        overwrite: replace an existing output (only once the new one is complete).
        crf: libx264 quality, 0 (lossless) to 51; lower is better and bigger.
        inputs: paths the job reads; the output may not be one of them (``audio_from`` is
            always included).
        trim_audio: end the audio where the video ends (to within one audio packet), for an
            output made from the start of an input only (``run --max-frames``).

    Nothing appears at ``path`` until ``close()`` succeeds; use the sink as a context manager
    so that an exception removes the partial output.

    Raises:
        UserError: the output exists (and not ``overwrite``), is an input, its folder is
            missing, its extension is not supported, or a setting is out of range.
    """
    out = Path(path)
    folder = is_folder_output(path)
    if not folder and out.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(
            f"{out}: unsupported output type {out.suffix!r}; use {', '.join(sorted(VIDEO_SUFFIXES))} "
            "or a folder name (no extension, or ending in /) for PNG frames"
        )
    if width <= 0 or height <= 0:
        raise UserError(f"{out}: frame size {width}x{height} is not positive")
    if not 0 <= crf <= 51:
        raise UserError(f"crf {crf} is outside libx264's range 0-51")
    rate = as_fps(fps)
    audio_path = None if audio_from is None else Path(audio_from)
    protected = [Path(p) for p in inputs] + ([audio_path] if audio_path else [])
    _check_output_path(out, folder, overwrite, protected)
    if folder:
        return FolderSink(out, width, height, rate, audio_from=audio_path)
    return VideoSink(out, width, height, rate, audio_from=audio_path, crf=crf, trim_audio=trim_audio)
