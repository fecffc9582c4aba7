"""``serve`` and a ``run --backend triton`` through this package's own parsers and functions.

The tests start these as real processes in the serve environment. ``stmfnet-trt serve`` and
``stmfnet-trt run --backend triton`` reach the same functions once stmfnet_trt/cli.py registers
them; this keeps the tests independent of that wiring.
"""

from __future__ import annotations

import argparse
import sys
import time

from stmfnet_trt.cli import BACKENDS, _add_backend_arguments
from stmfnet_trt.cli.serve import add_serve_parser, add_triton_client_arguments, make_triton_backend
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video


def cmd_run(args: argparse.Namespace) -> None:
    """Interpolate through the server; the time printed covers the run only (for bench/scale.py)."""
    with make_triton_backend(args) as backend:
        options = RunOptions(factor=args.factor, max_frames=args.max_frames, progress=not args.quiet)
        start = time.perf_counter()
        summary = interpolate_video(args.input, args.output, backend, options)
        seconds = time.perf_counter() - start
    print(f"wrote {summary.output}: {summary.output_frames} frames in {seconds:.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command", required=True)
    serve = add_serve_parser(subparsers, lambda args: BACKENDS[args.backend](args))
    _add_backend_arguments(serve)
    run = subparsers.add_parser("run")
    run.add_argument("input")
    run.add_argument("-o", "--output", required=True)
    run.add_argument("--factor", type=int, default=2)
    run.add_argument("--max-frames", type=int)
    run.add_argument("-q", "--quiet", action="store_true")
    add_triton_client_arguments(run)
    run.set_defaults(handler=cmd_run)
    args = parser.parse_args()
    try:
        args.handler(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
