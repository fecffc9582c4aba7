"""``stmfnet-trt export`` and ``check``: a checkpoint to a checked ONNX graph, and graphs compared.

Parse, call ``export_onnx`` or the ``export.check`` comparison, print. Both need the export
extra (onnx; torch for a PyTorch reference), imported when the command runs so that the other
commands work on the base install.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stmfnet_trt.cli.arg_types import positive_int
from stmfnet_trt.cli.backends import add_weights_arguments, weights_choice
from stmfnet_trt.cli.build import size
from stmfnet_trt.cli.commands import SUBCOMMANDS
from stmfnet_trt.core.contract import META_CHECKPOINT_SHA256, VARIANTS
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.hashing import file_sha256
from stmfnet_trt.export.parity import PARITY_TOLERANCE


def cmd_export(args: argparse.Namespace) -> None:
    """Export a checkpoint to ONNX with checks and parity (see stmfnet_trt/export)."""
    from stmfnet_trt.export.exporter import ExportOptions, export_onnx  # onnx, torch: the export extra

    checkpoint, _ = weights_choice(args)
    options = ExportOptions(
        variant=args.variant,
        simplify=not args.no_simplify,
        parity=not args.no_parity,
        overwrite=args.overwrite,
    )
    if args.no_parity:
        print("WARNING: --no-parity: the exported graph is not compared with PyTorch", file=sys.stderr)
    report = export_onnx(checkpoint, args.output, options)
    nodes = sum(report.op_histogram.values())
    warps = report.op_histogram.get("ai.stmfnet_trt::AdaptiveWarp", 0)
    print(
        f"wrote {report.path} ({report.variant}, {nodes} nodes, {warps} AdaptiveWarp) "
        f"in {report.seconds:.0f} s"
    )
    if report.parity is not None:
        print(f"parity vs PyTorch: {report.parity.summary()}")


def _reference_weights(args: argparse.Namespace, exported_from: str | None):
    """The weights ``check`` compares against: the given ones, else the ones the file names.

    Without --checkpoint the demo weights are the reference only for a file exported from them
    (its metadata names the checkpoint's sha256): comparing another export with them would report
    a parity failure for a correct file. A given checkpoint that is not the one named is used as
    asked, with a warning that parity will fail.
    """
    checkpoint, seed = weights_choice(args)
    if exported_from is None:  # not our export: nothing to match
        return checkpoint, seed
    actual = "random-init" if seed is not None else file_sha256(checkpoint)
    if actual == exported_from:
        return checkpoint, seed
    if args.checkpoint or args.random_init:
        print(
            f"WARNING: {args.model} was exported from checkpoint sha256 {exported_from[:16]}..., not from "
            f"the reference given ({actual[:16]}...): expect a parity failure",
            file=sys.stderr,
        )
        return checkpoint, seed
    raise UserError(
        f"{args.model} was exported from checkpoint sha256 {exported_from[:16]}..., not from the demo "
        "weights: pass --checkpoint with that file (or --random-init for a random-init export)"
    )


def cmd_check(args: argparse.Namespace) -> None:
    """Summarise an ONNX model and compare it with the reference (and other models)."""
    from stmfnet_trt.export.check import compare, random_feeds, real_frame_feeds, summarize  # onnx

    paths = [Path(args.model), *(Path(p) for p in args.against)]
    summaries = [summarize(path) for path in paths]
    for summary in summaries:
        print(summary.render())
    reference = None
    if args.checkpoint or args.random_init or not args.against:
        from stmfnet_trt.model.checkpoint import load_model  # torch: only when PyTorch is the reference

        checkpoint, seed = _reference_weights(args, summaries[0].metadata.get(META_CHECKPOINT_SHA256))
        reference = load_model(checkpoint, random_init_seed=seed)
    feeds = random_feeds(args.sizes)
    if args.frames:
        feeds += real_frame_feeds(args.frames)
    failed = 0
    for result in compare(paths, feeds, args.tolerance, reference, args.threads):
        verdict = "ok  " if result.passed else "FAIL"
        failed += not result.passed
        print(f"{verdict} {result.candidate} vs {result.reference}: {result.report.summary()}")
    if failed:
        raise UserError(
            f"{failed} comparison(s) failed parity (beyond max abs {args.tolerance:g}, see above)"
        )
    print(f"all comparisons pass parity (max abs {args.tolerance:g}, outliers counted)")


def add_export_parser(subparsers: argparse._SubParsersAction) -> None:
    export = SUBCOMMANDS["export"].add_to(subparsers)
    add_weights_arguments(export)
    export.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    export.add_argument(
        "--variant",
        choices=VARIANTS,
        default="plugin",
        help="plugin: one AdaptiveWarp node per warp (TensorRT, ONNX Runtime); portable: standard ops only; "
        "cpu: plugin + UpsampleConv3x3 head tails (fastest in ONNX Runtime on a CPU, not for TensorRT)",
    )
    export.add_argument("--no-simplify", action="store_true", help="skip onnxslim")
    export.add_argument("--no-parity", action="store_true", help="skip the ORT-vs-PyTorch parity check")
    export.add_argument("--overwrite", action="store_true")
    export.set_defaults(handler=cmd_export)


def add_check_parser(subparsers: argparse._SubParsersAction) -> None:
    check = SUBCOMMANDS["check"].add_to(subparsers)
    check.add_argument("model", help="the ONNX model to check")
    check.add_argument("--against", nargs="*", default=[], help="more ONNX models to compare")
    add_weights_arguments(check)
    check.add_argument(
        "--sizes",
        type=size,
        nargs="+",
        default=[(256, 256), (256, 384)],
        help="random-frame input sizes HxW (multiples of 128)",
    )
    check.add_argument("--frames", help="a clip whose first four frames are compared too")
    check.add_argument(
        "--tolerance",
        type=float,
        default=PARITY_TOLERANCE,
        help="max abs beyond which a value counts as an outlier (a quarter 8-bit step; export/parity.py)",
    )
    check.add_argument("--threads", type=positive_int, help="ONNX Runtime threads")
    check.set_defaults(handler=cmd_check)
