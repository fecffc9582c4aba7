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

from stmfnet_trt.core.errors import OutputExistsError, Param, UserError
from stmfnet_trt.io.atomic import check_replaceable_folder
from stmfnet_trt.io.folder_sink import FolderSink
from stmfnet_trt.io.frame_sink import FrameSink
from stmfnet_trt.io.rates import as_fps
from stmfnet_trt.io.video_sink import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    VIDEO_SUFFIXES,
    VideoSink,
    check_encoder_options,
)

PathLike = str | os.PathLike[str]


def is_folder_output(path: PathLike) -> bool:
    """A path without extension, or ending in a slash, names a frame folder."""
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or Path(text).suffix == ""


def _real(path: Path) -> Path:
    """The absolute path with every link resolved (as far as it exists)."""
    return Path(os.path.realpath(path))


def _check_not_over_inputs(path: Path, inputs: Iterable[Path]) -> None:
    """Refuse an output that is an input, contains one, or lies inside an input folder."""
    out = _real(path)
    for input_path in inputs:
        source = _real(input_path)
        if out == source:
            raise UserError(f"{path}: the output would overwrite the input {input_path}; choose another name")
        if source.is_relative_to(out):
            raise UserError(f"{path}: the output would contain the input {input_path}; choose another name")
        if out.is_relative_to(source):
            raise UserError(
                f"{path}: the output lies inside the input folder {input_path}; write it elsewhere"
            )


def check_file_output(
    path: PathLike, overwrite: bool, inputs: Iterable[PathLike] = (), *, creates_folder: bool = False
) -> None:
    """The refusals for a single-file output named by the user (an engine, a JSON report, a plot),
    checked before the work that fills it: not a folder, not an input, not an existing file
    without ``overwrite``; its folder must exist unless the caller ``creates_folder``."""
    out = Path(path)
    if not out.name or out.is_dir():
        raise UserError(f"{path}: this output is a file; the name given is a folder")
    _check_not_over_inputs(out, [Path(p) for p in inputs])
    if not creates_folder and not out.parent.is_dir():
        raise UserError(f"{out}: the folder {out.parent} does not exist")
    if (out.exists() or out.is_symlink()) and not overwrite:
        raise OutputExistsError(
            out,
            f"{out} already exists; choose another name or allow overwriting (",
            Param("overwrite", True),
            ")",
        )


def check_output_path(path: PathLike, overwrite: bool, inputs: Iterable[PathLike] = ()) -> None:
    """Every refusal an output can meet, before anything is created (see ``open_sink``).

    Besides the inputs, a folder output may not be (or contain) the current folder, and an
    existing folder is only ever replaced when it is a finished output of ours holding nothing
    else (``io.atomic``): nothing the user owns is removed, whatever ``overwrite`` says.
    """
    out = Path(path)
    folder = is_folder_output(path)
    if not folder and out.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(
            f"{out}: unsupported output type {out.suffix!r}; use {', '.join(sorted(VIDEO_SUFFIXES))} "
            "or a folder name (no extension, or ending in /) for PNG frames"
        )
    _check_not_over_inputs(out, [Path(p) for p in inputs])
    if Path.cwd().resolve().is_relative_to(_real(out)):
        raise UserError(f"{path}: the output would replace the current folder; name a new folder")
    if not out.parent.is_dir():
        raise UserError(f"{out}: the folder {out.parent} does not exist")
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise OutputExistsError(out, f"{out} already exists; choose another name or allow overwriting")
        if out.is_dir() != folder or (out.is_symlink() and folder):
            kind = "a folder" if out.is_dir() else "a file"
            raise UserError(f"{out} exists and is {kind}; refusing to replace it with another kind")
        if folder:
            check_replaceable_folder(out)


def check_encoder_request(path: PathLike, preset: str | None, encoder_threads: int | None) -> None:
    """Refuse encoder settings that are out of range, or given for a frame folder (no encoder)."""
    check_encoder_options(preset or DEFAULT_PRESET, encoder_threads)
    if is_folder_output(path) and (preset is not None or encoder_threads is not None):
        raise UserError(
            f"{path}: a folder of PNG frames has no video encoder to set ",
            Param("preset"),
            " or ",
            Param("encoder_threads"),
            " for",
        )


def open_sink(
    path: PathLike,
    width: int,
    height: int,
    fps: Fraction,
    audio_from: PathLike | None = None,
    overwrite: bool = False,
    *,
    crf: int = DEFAULT_CRF,
    preset: str | None = None,
    encoder_threads: int | None = None,
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
        preset: libx264 preset (``X264_PRESETS``; None: ``medium``), speed against file size.
        encoder_threads: threads of the video encoder (None: FFmpeg's choice). ``preset`` and
            ``encoder_threads`` are refused for a frame folder, which has no encoder.
        inputs: paths the job reads; the output may not be one of them (``audio_from`` is
            always included).
        trim_audio: end the audio where the video ends (to within one audio packet), for an
            output made from the start of an input only (``run --max-frames``).

    Nothing appears at ``path`` until ``close()`` succeeds; use the sink as a context manager
    so that an exception removes the partial output.

    Raises:
        UserError: the output exists (and not ``overwrite``), is, contains or lies inside an
            input, would replace the current folder or a folder that is not an output of ours,
            its folder is missing, its extension is not supported, or a setting is out of range.
        OutputBusyError: another process is writing the same output.
    """
    out = Path(path)
    if width <= 0 or height <= 0:
        raise UserError(f"{out}: frame size {width}x{height} is not positive")
    if not 0 <= crf <= 51:
        raise UserError(f"crf {crf} is outside libx264's range 0-51")
    check_encoder_request(path, preset, encoder_threads)
    rate = as_fps(fps)
    audio_path = None if audio_from is None else Path(audio_from)
    protected = [Path(p) for p in inputs] + ([audio_path] if audio_path else [])
    check_output_path(out, overwrite, protected)
    if is_folder_output(path):
        return FolderSink(out, width, height, rate, audio_from=audio_path, overwrite=overwrite)
    return VideoSink(
        out,
        width,
        height,
        rate,
        audio_from=audio_path,
        crf=crf,
        preset=preset or DEFAULT_PRESET,
        threads=encoder_threads,
        trim_audio=trim_audio,
        overwrite=overwrite,
    )
