"""The ``bench`` subcommand: parse, build the backends to compare, run the suite, report."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path

from stmfnet_trt.bench.layers import profile_engine, render, summarize
from stmfnet_trt.bench.polygraphy_timing import polygraphy_average_seconds, polygraphy_command
from stmfnet_trt.bench.report import table, write_json, write_plot
from stmfnet_trt.bench.suite import BenchOptions, parse_size, run_suite
from stmfnet_trt.cli.arg_types import positive_int
from stmfnet_trt.cli.backends import add_force_onnx_argument, add_weights_arguments, backend_spec
from stmfnet_trt.cli.commands import SUBCOMMANDS
from stmfnet_trt.core.contract import VARIANTS
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.frames import random_frames
from stmfnet_trt.io.sink import check_file_output
from stmfnet_trt.plugins import trt_plugin_library_path
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.specs import open_backend

# ONNX files and engines carry their weights: the checkpoint options do not apply to them.
_NO_WEIGHTS = {"checkpoint": None, "random_init": False}


def _backend_factories(args: argparse.Namespace) -> dict[str, Callable[[], Backend]]:
    """Label -> zero-argument factory, the first being the quality reference."""

    def factory(**overrides) -> Callable[[], Backend]:
        spec = backend_spec(argparse.Namespace(**{**vars(args), **overrides}), batch_size=args.batch)
        return functools.partial(open_backend, spec)

    factories = {name: factory(backend=name, onnx=None, engine=None) for name in args.backends}
    for model in args.onnx_models:
        factories[f"onnxruntime:{Path(model).name}"] = factory(
            backend="onnxruntime", onnx=model, **_NO_WEIGHTS
        )
    for engine in args.engines:
        factories[f"tensorrt:{Path(engine).name}"] = factory(backend="tensorrt", engine=engine, **_NO_WEIGHTS)
    if not factories:
        raise UserError("nothing to benchmark: give --backends, --onnx-models or --engines")
    return factories


def _polygraphy_rows(args: argparse.Namespace) -> list[str]:

    lines = [
        "",
        "polygraphy run (average inference time per batch):",
        "| model | size | runner | avg s |",
        "|---|---|---|---|",
    ]
    targets = [(Path(m), "onnxrt", None) for m in args.onnx_models]
    targets += [(Path(e), "trt", trt_plugin_library_path()) for e in args.engines]
    for size in args.sizes:
        name, (height, width) = parse_size(size)
        for model, runner, plugin in targets:
            shape = (args.batch, -(-height // 128) * 128, -(-width // 128) * 128)
            command = polygraphy_command(model, runner, shape, args.warmup, args.iterations, plugin)
            lines.append(f"| {model.name} | {name} | {runner} | {polygraphy_average_seconds(command):.3f} |")
    return lines


def _layer_sections(args: argparse.Namespace, record) -> list[str]:
    """Per-layer profiles of every --engines file at every size (GPU), kept in the record too."""
    from dataclasses import asdict

    lines = []
    for engine in map(Path, args.engines):
        for size in args.sizes:
            name, (height, width) = parse_size(size)
            windows = random_frames((args.batch, 4, 3, height, width), seed=0)
            layers = summarize(profile_engine(engine, windows, args.iterations))
            record.layer_profiles[f"{engine.name}@{name}"] = [asdict(layer) for layer in layers]
            lines += ["", f"per-layer time, {engine.name} at {name} (median of {args.iterations} runs):", ""]
            lines.append(render(layers))
    return lines


def cmd_bench(args: argparse.Namespace) -> None:

    if args.layers and not args.engines:  # before minutes of timing, not after
        raise UserError("--layers profiles TensorRT engines layer by layer: give them with --engines")
    for report in filter(None, (args.json, args.plot)):
        check_file_output(report, args.overwrite)
    options = BenchOptions(tuple(args.sizes), args.batch, args.warmup, args.iterations)
    record = run_suite(_backend_factories(args), options)
    print(table(record))
    if args.polygraphy:
        print("\n".join(_polygraphy_rows(args)))
    if args.layers:
        print("\n".join(_layer_sections(args, record)))
    if args.json:
        write_json(record, Path(args.json), overwrite=args.overwrite)
        print(f"wrote {args.json}")
    if args.plot:
        write_plot(record, Path(args.plot), overwrite=args.overwrite)
        print(f"wrote {args.plot}")


def add_bench_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``stmfnet-trt bench`` with the weights, variant, device and thread options."""
    parser = SUBCOMMANDS["bench"].add_to(subparsers)
    parser.add_argument(
        "--backends",
        type=lambda t: [b for b in t.split(",") if b],
        default=["torch", "blend"],
        help="comma-separated backends; the first is the quality reference",
    )
    parser.add_argument("--onnx-models", nargs="*", default=[], help="ONNX files to time with ONNX Runtime")
    parser.add_argument("--engines", nargs="*", default=[], help="TensorRT engines to time (GPU)")
    parser.add_argument("--sizes", nargs="+", default=["256"], help="256, 540p, 720p, 1080p, 4k or HxW")
    parser.add_argument("--batch", type=positive_int, default=1, help="windows per call")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first")
    parser.add_argument("--iterations", type=positive_int, default=5, help="timed calls per row")
    parser.add_argument("--json", help="write the record to this JSON file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json/--plot file")
    parser.add_argument("--plot", help="write a latency-vs-resolution PNG (needs matplotlib)")
    parser.add_argument(
        "--polygraphy",
        action="store_true",
        help="also time the --onnx-models / --engines with `polygraphy run`",
    )
    parser.add_argument(
        "--layers",
        action="store_true",
        help="per-layer time of the --engines (TensorRT profiler, GPU): time per network part, "
        "the warp plugin's share, the slowest layers",
    )
    add_weights_arguments(parser)
    parser.add_argument("--variant", choices=VARIANTS, help="ONNX variant to export for onnxruntime")
    add_force_onnx_argument(parser)
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=positive_int, help="CPU threads for inference")
    parser.add_argument("-q", "--quiet", action="store_true", help="no export progress messages")
    parser.set_defaults(handler=cmd_bench)
    return parser
