"""``stmfnet-trt eval``: parse, open the backend of ``--backend``, call ``evaluate``, print."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stmfnet_trt.cli.arg_types import positive_int
from stmfnet_trt.cli.backends import add_backend_arguments, add_triton_client_arguments, backend_spec
from stmfnet_trt.cli.commands import SUBCOMMANDS
from stmfnet_trt.evaluation.evaluate import EvalOptions, evaluate
from stmfnet_trt.io.atomic import atomic_output_path
from stmfnet_trt.io.sink import check_file_output
from stmfnet_trt.runtime.backends.specs import open_backend
from stmfnet_trt.runtime.scheduling.scene import DEFAULT_THRESHOLD, SceneCutDetector


def _crop(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"crop must be HxW, e.g. 256x448; got {text!r}") from exc
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"crop sides must be positive, got {text}")
    return height, width


def cmd_eval(args: argparse.Namespace) -> None:
    """Evaluate the backend and the baselines; print the table, write JSON and pictures."""
    if args.json:  # before minutes of scoring, not after
        check_file_output(args.json, args.overwrite, inputs=args.sources)

    options = EvalOptions(
        max_frames=args.max_frames,
        crop=args.crop,
        batch_size=args.batch_size,
        scene_detector=SceneCutDetector(threshold=args.scene_threshold),
        minterpolate=not args.no_minterpolate,
        pictures=None if args.pictures is None else Path(args.pictures),
        progress=not args.quiet,
    )
    with open_backend(backend_spec(args, batch_size=args.batch_size)) as backend:
        report = evaluate(args.sources, backend, options)
    print(report.table())
    if args.json:
        with atomic_output_path(args.json, overwrite=args.overwrite) as temp:
            temp.write_text(json.dumps(report.to_json(), indent=2) + "\n")
        print(f"wrote {args.json}")


def add_eval_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``eval``; returns its parser so the caller can add backend options."""
    parser = SUBCOMMANDS["eval"].add_to(subparsers)
    parser.add_argument("sources", nargs="+", metavar="SRC", help="video files or frame folders")
    parser.add_argument("--json", help="write the full report (per frame too) to this JSON file")
    parser.add_argument("--pictures", help="folder for PNGs of each clip's worst and median frame")
    parser.add_argument("--max-frames", type=positive_int, help="read at most this many frames per clip")
    parser.add_argument("--crop", type=_crop, help="centre-crop every clip to HxW first")
    parser.add_argument("--batch-size", type=positive_int, default=1, help="windows per inference call")
    parser.add_argument(
        "--scene-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="cut score above which a window is not scored",
    )
    parser.add_argument("--no-minterpolate", action="store_true", help="skip the ffmpeg baseline")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_backend_arguments(parser)
    add_triton_client_arguments(parser)
    parser.set_defaults(handler=cmd_eval)
    return parser
