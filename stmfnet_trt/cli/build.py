"""``stmfnet-trt build``: an FP32 export to a gated TensorRT / TensorRT-RTX engine.

Parses, makes a ``BuildSpec``, calls ``build_engine`` (the library's whole chain: precision step,
flavour check, build, engine gate) and prints what it made and the equivalent commands.
"""

from __future__ import annotations

import argparse

from stmfnet_trt.api.build import DEFAULT_SHAPES, BuildResult, BuildSpec, build_engine
from stmfnet_trt.cli.arg_types import optional_path, positive_int
from stmfnet_trt.cli.commands import SUBCOMMANDS
from stmfnet_trt.core.flavours import DEFAULT_RTX_TARGETS
from stmfnet_trt.engine.precision_step import DEFAULT_HELD_OUT
from stmfnet_trt.engine.request import DEFAULT_WORKSPACE_MB


def size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be HxW, e.g. 256x384; got {text!r}") from exc
    if height % 128 or width % 128 or height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f"graph inputs are multiples of 128; got {text}")
    return height, width


def _sm_list(text: str) -> list[int]:
    try:
        return [int(v.replace(".", "")) for v in text.split(",") if v]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--sm takes compute capabilities like 86,89,120; got {text!r}"
        ) from exc


def _spec(args: argparse.Namespace) -> BuildSpec:
    return BuildSpec(
        target=args.target,
        precision=args.precision,
        shapes=args.shapes,
        workspace_mb=args.workspace,
        rtx_targets=tuple(args.sm),
        plugin=optional_path(args.plugin),
        embed_plugin=not args.no_embed_plugin,
        calib=optional_path(args.calib),
        calib_windows=args.calib_windows,
        held_out=args.held_out,
        calib_shape=args.calib_shape,
        calib_method=args.calib_method,
        exclude=optional_path(args.exclude),
        seed=args.seed,
        min_psnr=args.min_psnr,
        accept_quality_loss=args.accept_quality_loss,
        onnx_only=args.onnx_only,
        overwrite=args.overwrite,
    )


def _report(args: argparse.Namespace, result: BuildResult) -> None:
    made = result.low_precision
    if made is not None:
        print(f"{args.precision} model{' (from the cache)' if made.from_cache else ''}: {made.path}")
        print(f"  quality gate, ONNX Runtime on the CPU: {made.report.summary()}")
    if result.engine is None:
        print(f"written: {result.onnx}")
        return
    info = result.sidecar
    where = "from the engine cache" if result.from_cache else "built"
    targets = (
        f"sm {info['rtx_targets']}"
        if result.target == "rtx"
        else f"{info['gpu']} ({info['compute_capability']})"
    )
    print(
        f"{where}: {result.engine} ({result.target} {info['tensorrt_version']}, {targets}, "
        f"{info['precision']}, profile {info['profiles'][0]}, {info['plugin_layers']} AdaptiveWarp plugin "
        f"layers); sidecar {result.engine}.json"
    )
    if made is not None:
        print(
            f"  quality gate, the engine itself: {result.engine_gate.summary()}"
            if result.engine_gate is not None
            else f"  quality gate on the engine skipped: {result.engine_gate_skipped}"
        )
    print("equivalent commands:")
    for line in result.commands:
        print(f"  {line}")


def cmd_build(args: argparse.Namespace) -> None:
    """Build (or fetch from the engine cache) an engine for an ONNX model, and say what was made."""
    _report(args, build_engine(args.model, _spec(args), args.output))


def add_build_parser(subparsers: argparse._SubParsersAction) -> None:
    build = SUBCOMMANDS["build"].add_to(subparsers)
    build.add_argument("model", help="exported ONNX (plugin or portable variant)")
    build.add_argument(
        "-o", "--output", required=True, help="engine file; its sidecar is written as ENGINE.json"
    )
    build.add_argument(
        "--target",
        choices=("tensorrt", "rtx"),
        help="tensorrt: Jetson/data center, builds on its GPU; rtx: GeForce/RTX, builds without one "
        "(default: tensorrt where installed with a GPU, else rtx)",
    )
    build.add_argument(
        "--precision",
        choices=("fp32", "fp16", "int8"),
        default="fp32",
        help="fp16/int8: the ONNX is converted first (warp kept FP32) and must pass a quality gate "
        "against FP32 on held-out windows (docs/precision.md)",
    )
    build.add_argument(
        "--calib", help="int8 (required) / fp16 (optional): a video or frame folder to calibrate on"
    )
    build.add_argument(
        "--calib-windows",
        type=positive_int,
        help="calibration windows (default 16, fewer when a short clip has fewer, at least 8)",
    )
    build.add_argument(
        "--held-out",
        type=positive_int,
        default=DEFAULT_HELD_OUT,
        help="windows kept out of calibration for the gate",
    )
    build.add_argument(
        "--calib-shape",
        type=size,
        help="HxW the calibration frames are fitted to (default: the profile's OPT, at most 384x640)",
    )
    build.add_argument("--calib-method", choices=("max", "entropy"), default="max", help="int8 calibration")
    build.add_argument(
        "--exclude", help='JSON/YAML {"exclude": [node regexes]} kept FP32 (see the sensitivity report)'
    )
    build.add_argument("--seed", type=int, default=0, help="which windows are drawn")
    build.add_argument(
        "--min-psnr", type=float, help="gate threshold in dB vs FP32 (default: fp16 45, int8 32)"
    )
    build.add_argument(
        "--accept-quality-loss", action="store_true", help="report a model below the gate instead of failing"
    )
    build.add_argument(
        "--onnx-only",
        action="store_true",
        help="stop after the gated FP16/INT8 ONNX and write it to -o (no TensorRT needed)",
    )
    build.add_argument(
        "--shapes",
        default=DEFAULT_SHAPES,
        help="optimisation profile MIN:OPT:MAX, each NxHxW, H and W multiples of 128",
    )
    build.add_argument(
        "--sm",
        type=_sm_list,
        default=list(DEFAULT_RTX_TARGETS),
        help="rtx: target compute capabilities, e.g. 86,89,120",
    )
    build.add_argument("--plugin", help="plugin library (default: the one built by `make plugins`)")
    build.add_argument(
        "--no-embed-plugin",
        action="store_true",
        help="do not list the plugin library in plugins_to_serialize (TensorRT-RTX then leaves it out of "
        "the engine; classic TensorRT stores it only in version-compatible engines): ship it beside "
        "the engine",
    )
    build.add_argument(
        "--workspace", type=positive_int, default=DEFAULT_WORKSPACE_MB, help="builder workspace limit in MiB"
    )
    build.add_argument("--overwrite", action="store_true")
    build.set_defaults(handler=cmd_build)
