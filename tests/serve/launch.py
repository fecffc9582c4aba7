"""``serve`` and a ``run --backend triton`` through this package's own parsers and functions.

The tests start these as real processes in the serve environment. ``serve`` is the CLI's own
parser and handler; ``run`` here times the run alone (for bench/scale.py) through the same
backend spec flags as ``stmfnet-trt run --backend triton``.
"""

from __future__ import annotations

import argparse
import sys
import time

from stmfnet_trt.cli.backends import add_triton_client_arguments, triton_spec
from stmfnet_trt.cli.serve import add_serve_parser
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.backends.specs import named_spec, open_backend
from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video


def cmd_run(args: argparse.Namespace) -> None:
    """Interpolate through the server; the time printed covers the run only (for bench/scale.py)."""
    with open_backend(named_spec("triton", triton=triton_spec(args))) as backend:
        options = RunOptions(factor=args.factor, max_frames=args.max_frames, progress=not args.quiet)
        start = time.perf_counter()
        summary = interpolate_video(args.input, args.output, backend, options)
        seconds = time.perf_counter() - start
    print(f"wrote {summary.output}: {summary.output_frames} frames in {seconds:.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_serve_parser(subparsers)
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
