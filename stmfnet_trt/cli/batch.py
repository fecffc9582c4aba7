"""``stmfnet-trt batch``: parse, ship the backend spec to Ray workers (``batch.run_batch``), summarise."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from stmfnet_trt.batch.job import BatchOptions, run_batch
from stmfnet_trt.cli.arg_types import positive_int
from stmfnet_trt.cli.backends import add_backend_arguments, add_triton_client_arguments, backend_spec
from stmfnet_trt.cli.commands import SUBCOMMANDS
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.huge_pages import disable_transparent_huge_pages
from stmfnet_trt.runtime.backends.specs import open_backend
from stmfnet_trt.runtime.scheduling.scene import DEFAULT_THRESHOLD, SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SUPPORTED_FACTORS


def cmd_batch(args: argparse.Namespace) -> None:
    """Run the job, print one line per video, fail (status 2) if any video failed."""
    disable_transparent_huge_pages()  # for the local workers this process starts: see core.huge_pages
    if args.backend in ("auto", "onnxruntime") and not args.onnx:
        print("note: each worker exports (or reuses) the cached ONNX graph itself; pass --onnx to share one")
    options = BatchOptions(
        factor=args.factor,
        chunk_frames=args.chunk_frames,
        scene_detector=SceneCutDetector(threshold=args.scene_threshold, enabled=not args.no_scene_detect),
        batch_size=args.batch_size,
        workers=args.workers,
        gpus_per_worker=args.gpus_per_worker,
        cpus_per_worker=args.cpus_per_worker,
        retries=args.retries,
        overwrite=args.overwrite,
        assume_constant_rate=args.assume_cfr,
        address=args.address,
        progress=not args.quiet,
    )
    # Each worker opens its own backend from the spec (plain data, pickled to it).
    factory = functools.partial(open_backend, backend_spec(args, batch_size=args.batch_size))
    results = run_batch(args.sources, Path(args.output_dir), factory, options)
    for result in results:
        if result.error is None:
            print(f"ok    {result.source} -> {result.output} ({result.frames} frames)")
        else:
            print(f"FAIL  {result.source}: {result.error}")
    failed = sum(r.error is not None for r in results)
    if failed:
        raise UserError(f"{failed} of {len(results)} videos failed (nothing was written for them)")


def add_batch_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``stmfnet-trt batch`` with the shared backend options (as for run and eval)."""
    parser = SUBCOMMANDS["batch"].add_to(subparsers)
    parser.add_argument("sources", nargs="+", help="input videos (or frame folders)")
    parser.add_argument(
        "-o", "--output-dir", required=True, help="folder for the outputs, named <stem>_x<factor>.<ext>"
    )
    parser.add_argument(
        "--factor", type=int, choices=SUPPORTED_FACTORS, default=2, help="frame-rate multiplier"
    )
    parser.add_argument(
        "--chunk-frames",
        type=positive_int,
        default=64,
        help="input frames per chunk at most (chunks also end at every scene cut)",
    )
    parser.add_argument(
        "--workers", type=positive_int, help="actors, each with its own model (default: one per GPU, else 1)"
    )
    parser.add_argument("--gpus-per-worker", type=float, help="default: 1 where the cluster has GPUs, else 0")
    parser.add_argument("--cpus-per-worker", type=float, default=1, help="CPUs Ray reserves per actor")
    parser.add_argument("--retries", type=int, default=2, help="times a failed chunk is sent again")
    parser.add_argument("--batch-size", type=positive_int, default=1, help="windows per inference call")
    parser.add_argument("--address", help="Ray cluster to join (default: $RAY_ADDRESS, else a local cluster)")
    parser.add_argument(
        "--scene-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="cut score above which a pair is copied",
    )
    parser.add_argument("--no-scene-detect", action="store_true", help="interpolate across scene cuts too")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument(
        "--assume-cfr", action="store_true", help="read variable-frame-rate videos at their average rate"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(parser)
    add_triton_client_arguments(parser)
    parser.set_defaults(handler=cmd_batch)
    return parser
