"""``stmfnet-trt``: one command, one small function per subcommand.

A ``UserError`` is printed as one line prefixed with the subcommand and exits with status 2;
anything else is a bug and keeps its traceback (status 1).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

from . import __version__
from .errors import UserError
from .runtime.backend import Backend
from .runtime.scene import DEFAULT_THRESHOLD, SceneCutDetector
from .runtime.scheduler import SUPPORTED_FACTORS

EXIT_USER_ERROR = 2
RANDOM_INIT_SEED = 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _fraction(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise argparse.ArgumentTypeError(f"not a frame rate: {text!r} (use e.g. 25 or 30000/1001)") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"frame rate must be positive, got {text}")
    return value


def _make_torch_backend(args: argparse.Namespace) -> Backend:
    from .runtime.torch_backend import TorchBackend, TorchOptions
    from .weights import resolve_checkpoint

    if args.random_init and args.checkpoint:
        raise UserError("--random-init and --checkpoint exclude each other")
    return TorchBackend(
        TorchOptions(
            checkpoint=None if args.random_init else resolve_checkpoint(args.checkpoint),
            random_init_seed=RANDOM_INIT_SEED if args.random_init else None,
            device=args.device,
            threads=args.threads,
        )
    )


BACKENDS: dict[str, Callable[[argparse.Namespace], Backend]] = {"torch": _make_torch_backend}


def cmd_run(args: argparse.Namespace) -> None:
    """Interpolate a video or frame folder to ``factor`` x its frame rate."""
    from .runtime.video import RunOptions, interpolate_video

    detector = SceneCutDetector(threshold=args.scene_threshold, enabled=not args.no_scene_detect)
    options = RunOptions(
        factor=args.factor,
        batch_size=args.batch_size,
        max_frames=args.max_frames,
        scene_detector=detector,
        overwrite=args.overwrite,
        input_fps=args.fps,
        progress=not args.quiet,
    )
    if Path(args.output).resolve() == Path(args.input).resolve():
        raise UserError("the output path is the input path: the input is never overwritten")
    with BACKENDS[args.backend](args) as backend:
        summary = interpolate_video(args.input, args.output, backend, options)
    print(
        f"wrote {summary.output}: {summary.output_frames} frames at {float(summary.output_fps):.3f} fps "
        f"({summary.output_fps}) from {summary.input_frames} input frames; "
        f"{summary.stats.windows} windows interpolated, {summary.stats.scene_cuts} scene-cut pairs "
        f"and {summary.stats.identical_pairs} identical pairs copied"
    )


def _add_run(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="interpolate a video or a folder of frames")
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
    run.add_argument("--backend", choices=sorted(BACKENDS), default="torch")
    run.add_argument("--checkpoint", help="weights in the published format ({'state_dict': ...})")
    run.add_argument(
        "--random-init",
        action="store_true",
        help="use seeded random weights instead of a checkpoint (plumbing checks only)",
    )
    run.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda or cuda:N")
    run.add_argument("--threads", type=_positive_int, help="CPU threads for inference")
    run.add_argument("--batch-size", type=_positive_int, default=1, help="windows per inference call")
    run.add_argument("--max-frames", type=_positive_int, help="read at most this many input frames")
    run.add_argument("--fps", type=_fraction, help="frame rate of a frame folder (default 25)")
    run.add_argument(
        "--scene-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="cut score above which a pair is copied, not interpolated (see README)",
    )
    run.add_argument("--no-scene-detect", action="store_true", help="interpolate across scene cuts too")
    run.add_argument("--overwrite", action="store_true", help="replace an existing output")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=cmd_run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stmfnet-trt",
        description="ST-MFNet Mini video frame interpolation: PyTorch, ONNX and TensorRT.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_run(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except UserError as exc:
        print(f"stmfnet-trt {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
