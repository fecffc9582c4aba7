"""``stmfnet-trt run``: a video, frame folder or y4m stream at 2x/4x/8x its frame rate.

Parses, makes the backend spec (``cli.backends``), calls the library (``Interpolator`` for files,
``interpolate_y4m`` for ``run - -o -`` pipes) and prints the summary.
"""

from __future__ import annotations

import argparse
import sys

from stmfnet_trt.api.interpolator import Interpolator
from stmfnet_trt.cli.arg_types import fraction, positive_int
from stmfnet_trt.cli.backends import (
    add_backend_arguments,
    add_triton_client_arguments,
    backend_spec,
    tile_options,
)
from stmfnet_trt.cli.commands import SUBCOMMANDS
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.huge_pages import disable_transparent_huge_pages
from stmfnet_trt.io import open_source
from stmfnet_trt.io.video_sink import X264_PRESETS
from stmfnet_trt.runtime.backends.specs import open_backend
from stmfnet_trt.runtime.scheduling.scene import DEFAULT_THRESHOLD, SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SUPPORTED_FACTORS
from stmfnet_trt.runtime.scheduling.stream import (
    EXIT_OUTPUT_CLOSED,
    OutputClosed,
    StreamOptions,
    interpolate_y4m,
    stdout_as_y4m_sink,
)

DIVERGED_WARNING = (
    "WARNING: the network diverged in {diverged} of {windows} windows (output far outside [0, 1]): "
    "those frames are blends of their two neighbours instead of interpolations. These weights do not "
    "cover this content (the demo weights fail on night-dark footage: see "
    "stmfnet_trt/weights/MODEL_CARD.md); use the published checkpoint or train on such footage."
)


def _engine_frame_size(args: argparse.Namespace) -> tuple[int, int] | None:
    """What an engine built for this run must take: the input's size, or the tile's (a TensorRT
    run without --engine builds one through the engine cache); None for every other backend."""
    if args.backend != "tensorrt" or args.engine:
        return None
    with open_source(args.input, fps=args.fps, assume_constant_rate=args.assume_cfr) as reader:
        height, width = reader.height, reader.width
    return (min(height, args.tile), min(width, args.tile)) if args.tile else (height, width)


def _run_stream(args: argparse.Namespace) -> None:
    """``run - -o -``: y4m on stdin to y4m on stdout, live; messages on stderr."""
    if args.input != "-" or args.output != "-":
        raise UserError(
            "a stream goes stdin to stdout: `run - -o -` (y4m both ways); for files drop the '-', "
            "or pipe a file in with `ffmpeg -i IN -f yuv4mpegpipe -`"
        )
    if args.backend == "tensorrt" and not args.engine:
        raise UserError("--backend tensorrt on a stream needs --engine PLAN (no file to size an engine for)")
    if args.preset is not None or args.encoder_threads is not None:
        raise UserError(
            "--preset and --encoder-threads set the video encoder; a stream writes y4m, unencoded"
        )
    for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout)):
        if stream.isatty():
            raise UserError(
                f"{name} is a terminal: pipe y4m through, e.g. ffmpeg ... -f yuv4mpegpipe - | ... | ffmpeg"
            )
    options = StreamOptions(
        factor=args.factor,
        batch_size=args.batch_size,
        max_frames=args.max_frames,
        scene_detector=SceneCutDetector(threshold=args.scene_threshold, enabled=not args.no_scene_detect),
        input_fps=args.fps,
        matrix=None if args.y4m_matrix == "auto" else args.y4m_matrix,
        progress=not args.quiet,
    )
    spec = backend_spec(args, batch_size=args.batch_size)
    with stdout_as_y4m_sink() as sink, open_backend(spec, tiles=tile_options(args)) as backend:
        try:
            summary = interpolate_y4m(sys.stdin.buffer, sink, backend, options)
        except OutputClosed as closed:
            print(f"stmfnet-trt run: {closed}; stopped", file=sys.stderr)
            raise SystemExit(EXIT_OUTPUT_CLOSED) from None
    diverged = summary.stats.diverged_windows
    print(
        f"stmfnet-trt run: {summary.output_frames} frames at {summary.output_fps} fps from "
        f"{summary.input_frames}; {summary.stats.windows} windows interpolated, {summary.stats.scene_cuts} "
        f"scene-cut and {summary.stats.identical_pairs} identical pairs copied"
        + (f"; {diverged} diverged windows replaced by blends (see MODEL_CARD.md)" if diverged else ""),
        file=sys.stderr,
    )


def cmd_run(args: argparse.Namespace) -> None:
    """Interpolate a video or frame folder to ``factor`` x its frame rate."""
    disable_transparent_huge_pages()  # this process is ours: see core.huge_pages
    if args.input == "-" or args.output == "-":
        return _run_stream(args)
    tiles = tile_options(args)  # a bad --tile before any file is opened
    interpolator = Interpolator(
        backend_spec(args, frame_size=_engine_frame_size(args), batch_size=args.batch_size),
        factor=args.factor,
        batch_size=args.batch_size,
        scene_threshold=None if args.no_scene_detect else args.scene_threshold,
        tiles=tiles,
    )
    with interpolator:
        summary = interpolator.interpolate_file(
            args.input,
            args.output,
            overwrite=args.overwrite,
            max_frames=args.max_frames,
            input_fps=args.fps,
            assume_constant_rate=args.assume_cfr,
            progress=not args.quiet,
            preset=args.preset,
            encoder_threads=args.encoder_threads,
        )
    print(
        f"wrote {summary.output}: {summary.output_frames} frames at {float(summary.output_fps):.3f} fps "
        f"({summary.output_fps}) from {summary.input_frames} input frames; "
        f"{summary.stats.windows} windows interpolated, {summary.stats.scene_cuts} scene-cut pairs "
        f"and {summary.stats.identical_pairs} identical pairs copied"
    )
    if summary.stats.diverged_windows:
        print(
            DIVERGED_WARNING.format(diverged=summary.stats.diverged_windows, windows=summary.stats.windows),
            file=sys.stderr,
        )


def add_run_parser(subparsers: argparse._SubParsersAction) -> None:
    run = SUBCOMMANDS["run"].add_to(subparsers)
    run.add_argument("input", help="video file (anything FFmpeg reads) or folder of PNG/JPEG frames")
    run.add_argument(
        "-o", "--output", required=True, help="output video (.mp4/.mkv/.mov, H.264) or folder for PNG frames"
    )
    run.add_argument(
        "--factor",
        type=int,
        choices=SUPPORTED_FACTORS,
        default=2,
        help="frame-rate multiplier (x4/x8 by recursive midpoints)",
    )
    add_backend_arguments(run)
    add_triton_client_arguments(run)
    run.add_argument("--batch-size", type=positive_int, default=1, help="windows per inference call")
    run.add_argument(
        "--tile",
        type=positive_int,
        help="run the model on square tiles of this side (a multiple of 128) and blend them: for "
        "frames too big for memory; changes the result slightly (see runtime/backends/tiling.py)",
    )
    run.add_argument(
        "--tile-overlap", type=int, default=64, help="pixels neighbouring tiles share at least (blended)"
    )
    run.add_argument("--max-frames", type=positive_int, help="read at most this many input frames")
    run.add_argument("--fps", type=fraction, help="frame rate of a frame folder (default 25)")
    run.add_argument(
        "--assume-cfr",
        action="store_true",
        help="read a variable-frame-rate video as constant rate at its average (refused otherwise: "
        "its motion and audio sync would change)",
    )
    run.add_argument(
        "--scene-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="cut score above which a pair is copied, not interpolated (see README)",
    )
    run.add_argument("--no-scene-detect", action="store_true", help="interpolate across scene cuts too")
    run.add_argument("--overwrite", action="store_true", help="replace an existing output")
    run.add_argument(
        "--preset",
        choices=X264_PRESETS,
        help="libx264 preset of a video output (default medium, as ffmpeg's): a faster one encodes "
        "faster and writes a bigger file of the same quality (CRF 18)",
    )
    run.add_argument(
        "--encoder-threads",
        type=positive_int,
        help="threads of the video encoder (default: FFmpeg's choice, 1.5 per core); the encoder "
        "shares the cores with decoding and the model",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    # Streams: `run - -o -` (runtime/scheduling/stream.py).
    run.add_argument(
        "--y4m-matrix",
        choices=("auto", "bt601", "bt709"),
        default="auto",
        help="YUV<->RGB matrix of a y4m stream (its header has none); auto: BT.709 for HD, else BT.601",
    )
    run.set_defaults(handler=cmd_run)
