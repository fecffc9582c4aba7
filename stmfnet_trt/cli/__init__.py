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
from typing import NoReturn

import av

from stmfnet_trt.cli.arg_types import positive_int
from stmfnet_trt.cli.batch import add_batch_parser
from stmfnet_trt.cli.bench import add_bench_parser
from stmfnet_trt.cli.evaluate import add_eval_parser
from stmfnet_trt.cli.serve import (
    add_serve_parser,
    add_triton_client_arguments,
    add_triton_repo_parser,
    make_triton_backend,
)
from stmfnet_trt.cli.train import add_train_parser
from stmfnet_trt.core.contract import META_CHECKPOINT_SHA256, VARIANTS
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.signals import Interrupted, describe_os_error, one_line, signals_as_exceptions
from stmfnet_trt.core.version import __version__
from stmfnet_trt.export.parity import PARITY_TOLERANCE
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.scheduling.scene import DEFAULT_THRESHOLD, SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SUPPORTED_FACTORS

EXIT_USER_ERROR = 2
RANDOM_INIT_SEED = 0


def _fraction(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise argparse.ArgumentTypeError(f"not a frame rate: {text!r} (use e.g. 25 or 30000/1001)") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"frame rate must be positive, got {text}")
    return value


def _checkpoint_choice(args: argparse.Namespace):
    """(checkpoint path or None, random-init seed or None) from --checkpoint / --random-init."""
    from stmfnet_trt.weights import resolve_checkpoint

    if args.random_init and args.checkpoint:
        raise UserError("--random-init and --checkpoint exclude each other")
    if args.random_init:
        return None, RANDOM_INIT_SEED
    return resolve_checkpoint(args.checkpoint), None


def _make_torch_backend(args: argparse.Namespace) -> Backend:
    from stmfnet_trt.runtime.backends.torch_backend import TorchBackend, TorchOptions

    checkpoint, seed = _checkpoint_choice(args)
    options = TorchOptions(
        checkpoint=checkpoint, random_init_seed=seed, device=args.device, threads=args.threads
    )
    return TorchBackend(options)


def _default_variant() -> str:
    """The cpu variant (our ORT ops: fused softmax + warp, factored head tails; fastest) where our
    ORT op library loads, else the portable one, said once (``plugins.default_ort_variant``)."""
    from stmfnet_trt.plugins import default_ort_variant

    return default_ort_variant()


def _make_onnxruntime_backend(args: argparse.Namespace) -> Backend:
    from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions

    if args.onnx:
        if args.checkpoint or args.random_init:
            raise UserError("--onnx already holds the weights: drop --checkpoint/--random-init")
        model = Path(args.onnx)
    else:
        from stmfnet_trt.export.cache import cached_onnx

        checkpoint, _ = _checkpoint_choice(args)
        model = cached_onnx(checkpoint, args.variant or _default_variant(), progress=not args.quiet)
    return OnnxRuntimeBackend(
        OnnxRuntimeOptions(model=model, threads=args.threads, force_foreign_onnx=args.force_onnx)
    )


def _make_tensorrt_backend(args: argparse.Namespace) -> Backend:
    from stmfnet_trt.runtime.backends.tensorrt_backend import TensorRTBackend, TensorRTOptions

    if args.engine:
        engine = Path(args.engine)
    elif getattr(args, "input", None) is None:  # eval, bench: no single frame size to build for
        raise UserError("--backend tensorrt needs --engine PLAN here (build one with `stmfnet-trt build`)")
    else:  # run: export and build once for this clip's frame size, through both caches
        from stmfnet_trt.engine.for_run import engine_for_run
        from stmfnet_trt.io import open_source

        checkpoint, _ = _checkpoint_choice(args)
        with open_source(Path(args.input), fps=args.fps, assume_constant_rate=args.assume_cfr) as reader:
            height, width = reader.height, reader.width
        if args.tile:  # the engine only ever sees tiles
            height, width = min(height, args.tile), min(width, args.tile)
        engine = engine_for_run(checkpoint, height, width, args.batch_size, progress=not args.quiet)
    return TensorRTBackend(TensorRTOptions(engine=engine))


def _make_blend_backend(args: argparse.Namespace) -> Backend:
    from stmfnet_trt.runtime.backends.blend import BlendBackend

    return BlendBackend()


def _make_auto_backend(args: argparse.Namespace) -> Backend:
    """torch on a CUDA GPU; ONNX Runtime (exported once, cached) everywhere else."""
    from stmfnet_trt.runtime.backends.torch_backend import cuda_available

    if args.onnx is None and args.device != "cpu" and cuda_available():
        return _make_torch_backend(args)
    return _make_onnxruntime_backend(args)


BACKENDS: dict[str, Callable[[argparse.Namespace], Backend]] = {
    "auto": _make_auto_backend,
    "torch": _make_torch_backend,
    "onnxruntime": _make_onnxruntime_backend,
    "tensorrt": _make_tensorrt_backend,
    "blend": _make_blend_backend,
    "triton": make_triton_backend,
}


def _tile_options(args: argparse.Namespace):
    """TileOptions from --tile/--tile-overlap (checked before any backend is built), or None."""
    if not args.tile:
        return None
    from stmfnet_trt.runtime.backends.tiling import TileOptions

    return TileOptions(args.tile, args.tile_overlap)


def _tiled(backend: Backend, tiles) -> Backend:
    """The backend run over overlapping tiles when asked (frames too big for memory)."""
    if tiles is None:
        return backend
    from stmfnet_trt.runtime.backends.tiling import TiledBackend

    return TiledBackend(backend, tiles)


def _run_stream(args: argparse.Namespace) -> None:
    """``run - -o -``: y4m on stdin to y4m on stdout, live (runtime/stream.py); messages on stderr."""
    from stmfnet_trt.runtime.scheduling.stream import (
        EXIT_OUTPUT_CLOSED,
        OutputClosed,
        StreamOptions,
        interpolate_y4m,
        stdout_as_y4m_sink,
    )

    if args.input != "-" or args.output != "-":
        raise UserError(
            "a stream goes stdin to stdout: `run - -o -` (y4m both ways); for files drop the '-', "
            "or pipe a file in with `ffmpeg -i IN -f yuv4mpegpipe -`"
        )
    if args.backend == "tensorrt" and not args.engine:
        raise UserError("--backend tensorrt on a stream needs --engine PLAN (no file to size an engine for)")
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
    with stdout_as_y4m_sink() as sink, _tiled(BACKENDS[args.backend](args), _tile_options(args)) as backend:
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
    if args.input == "-" or args.output == "-":
        return _run_stream(args)
    from stmfnet_trt.runtime.scheduling.video import RunOptions, check_run, interpolate_video

    detector = SceneCutDetector(threshold=args.scene_threshold, enabled=not args.no_scene_detect)
    options = RunOptions(
        factor=args.factor,
        batch_size=args.batch_size,
        max_frames=args.max_frames,
        scene_detector=detector,
        overwrite=args.overwrite,
        input_fps=args.fps,
        assume_constant_rate=args.assume_cfr,
        progress=not args.quiet,
    )
    tiles = _tile_options(args)
    check_run(args.input, args.output, options)  # input, output and options before any model work
    with _tiled(BACKENDS[args.backend](args), tiles) as backend:
        summary = interpolate_video(args.input, args.output, backend, options)
    print(
        f"wrote {summary.output}: {summary.output_frames} frames at {float(summary.output_fps):.3f} fps "
        f"({summary.output_fps}) from {summary.input_frames} input frames; "
        f"{summary.stats.windows} windows interpolated, {summary.stats.scene_cuts} scene-cut pairs "
        f"and {summary.stats.identical_pairs} identical pairs copied"
    )
    if summary.stats.diverged_windows:
        print(
            f"WARNING: the network diverged in {summary.stats.diverged_windows} of {summary.stats.windows} "
            "windows (output far outside [0, 1]): those frames are blends of their two neighbours instead "
            "of interpolations. These weights do not cover this content (the demo weights fail on "
            "night-dark footage: see stmfnet_trt/weights/MODEL_CARD.md); use the published checkpoint or "
            "train on such footage.",
            file=sys.stderr,
        )


def cmd_export(args: argparse.Namespace) -> None:
    """Export a checkpoint to ONNX with checks and parity (see stmfnet_trt/export)."""
    from stmfnet_trt.export.exporter import ExportOptions, export_onnx

    checkpoint, _ = _checkpoint_choice(args)
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


def _size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be HxW, e.g. 256x384; got {text!r}") from exc
    if height % 128 or width % 128 or height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f"graph inputs are multiples of 128; got {text}")
    return height, width


def _reference_weights(args: argparse.Namespace, exported_from: str | None):
    """The weights ``check`` compares against: the given ones, else the ones the file names.

    Without --checkpoint the demo weights are the reference only for a file exported from them
    (its metadata names the checkpoint's sha256): comparing another export with them would report
    a parity failure for a correct file. A given checkpoint that is not the one named is used as
    asked, with a warning that parity will fail.
    """
    from stmfnet_trt.core.hashing import file_sha256

    checkpoint, seed = _checkpoint_choice(args)
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
    from stmfnet_trt.export.check import compare, random_feeds, real_frame_feeds, summarize

    paths = [Path(args.model), *(Path(p) for p in args.against)]
    summaries = [summarize(path) for path in paths]
    for summary in summaries:
        print(summary.render())
    reference = None
    if args.checkpoint or args.random_init or not args.against:
        from stmfnet_trt.model.checkpoint import load_model

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


def _default_target() -> str:
    """Classic TensorRT where it is installed with a GPU, else TensorRT-RTX (builds without a GPU)."""
    import importlib.util

    from stmfnet_trt.runtime.backends.torch_backend import cuda_available

    if importlib.util.find_spec("tensorrt") is not None and cuda_available():
        return "tensorrt"
    return "rtx"


def _sm_list(text: str) -> list[int]:
    try:
        return [int(v.replace(".", "")) for v in text.split(",") if v]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--sm takes compute capabilities like 86,89,120; got {text!r}"
        ) from exc


def _precision_settings(args: argparse.Namespace):
    from stmfnet_trt.calibration import load_exclusions
    from stmfnet_trt.engine.precision_step import PrecisionSettings

    return PrecisionSettings(
        precision=args.precision,
        calib=args.calib,
        windows=args.calib_windows,
        held_out=args.held_out,
        shape=args.calib_shape or _default_calib_shape(args.shapes),
        method=args.calib_method,
        exclude=load_exclusions(args.exclude) if args.exclude else (),
        seed=args.seed,
        threshold_db=args.min_psnr,
        accept_quality_loss=args.accept_quality_loss,
    )


def _default_calib_shape(shapes: str) -> tuple[int, int]:
    """The default calibration size, no larger than the profile's optimum shape."""
    from stmfnet_trt.engine.precision_step import DEFAULT_CALIB_SHAPE
    from stmfnet_trt.engine.request import ProfileShapes

    _, height, width = ProfileShapes.parse(shapes).opt
    return min(height, DEFAULT_CALIB_SHAPE[0]), min(width, DEFAULT_CALIB_SHAPE[1])


def _low_precision_onnx(args: argparse.Namespace, fp32_onnx: Path):
    """The gated FP16/INT8 model for ``build``, with its numbers printed."""
    from stmfnet_trt.engine.precision_step import precision_onnx

    settings = _precision_settings(args)
    made = precision_onnx(fp32_onnx, settings)
    print(f"{args.precision} model{' (from the cache)' if made.from_cache else ''}: {made.path}")
    print(f"  quality gate, ONNX Runtime on the CPU: {made.report.summary()}")
    return settings, made


def cmd_build(args: argparse.Namespace) -> None:
    """Build (or fetch from the engine cache) a TensorRT / TensorRT-RTX engine for an ONNX model.

    FP16/INT8 first turn the FP32 export into a gated low-precision ONNX (TensorRT builds
    strongly typed networks: the precision lives in the graph), then build that.
    """
    from stmfnet_trt.engine.build import build_engine, equivalent_commands, refuse_cpu_only_graph
    from stmfnet_trt.engine.flavours import missing_flavour
    from stmfnet_trt.engine.precision_step import copy_onnx, engine_gate
    from stmfnet_trt.engine.request import BuildRequest, ProfileShapes
    from stmfnet_trt.engine.sidecar import sha256_of
    from stmfnet_trt.io.sink import check_file_output
    from stmfnet_trt.plugins import trt_plugin_library_path

    fp32_onnx, output = Path(args.model).resolve(), Path(args.output)
    if args.onnx_only and args.precision == "fp32":
        raise UserError("--onnx-only writes an FP16 or INT8 ONNX; pick --precision fp16 or int8")
    inputs = [p for p in (args.model, args.calib, args.exclude, args.plugin) if p]
    check_file_output(output, args.overwrite, inputs=inputs, creates_folder=True)  # before calibration
    if fp32_onnx.is_file():
        refuse_cpu_only_graph(fp32_onnx)
    output.parent.mkdir(parents=True, exist_ok=True)
    target = args.target or _default_target()
    onnx_to_build, provenance, settings = fp32_onnx, {}, None
    if args.precision != "fp32":
        settings, made = _low_precision_onnx(args, fp32_onnx)
        if args.onnx_only:
            print(f"written: {copy_onnx(made.path, output, overwrite=args.overwrite)}")
            return
        onnx_to_build = made.path
        provenance = {
            "source_onnx": str(fp32_onnx),
            "source_onnx_sha256": sha256_of(fp32_onnx),
            "quality_gate_onnxruntime": made.report.summary(),
            "calibration": {"source": args.calib, "windows": args.calib_windows, "held_out": args.held_out},
        }
        reason = missing_flavour(target)
        if reason is not None:
            raise UserError(
                f"{reason}. The {args.precision} ONNX passed its gate and is kept: {made.path} "
                "(--onnx-only -o FILE.onnx copies it; build it on the target machine)"
            )
    request = BuildRequest(
        flavour=target,
        onnx=str(onnx_to_build),
        plugin=str(Path(args.plugin).resolve() if args.plugin else trt_plugin_library_path()),
        profiles=[ProfileShapes.parse(args.shapes)],
        precision=args.precision,
        workspace_mb=args.workspace,
        rtx_targets=args.sm,
        embed_plugin=not args.no_embed_plugin,
        provenance=provenance,
    )
    result = build_engine(request, output, overwrite=args.overwrite)
    info = result.sidecar
    where = "from the engine cache" if result.from_cache else "built"
    targets = (
        f"sm {info['rtx_targets']}" if target == "rtx" else f"{info['gpu']} ({info['compute_capability']})"
    )
    print(
        f"{where}: {result.engine} ({target} {info['tensorrt_version']}, {targets}, {info['precision']}, "
        f"profile {info['profiles'][0]}, {info['plugin_layers']} AdaptiveWarp plugin layers); "
        f"sidecar {result.engine}.json"
    )
    if settings is not None:
        report, why_not = engine_gate(result.engine, fp32_onnx, settings)
        print(
            f"  quality gate, the engine itself: {report.summary()}"
            if report is not None
            else f"  quality gate on the engine skipped: {why_not}"
        )
    print("equivalent commands:")
    for line in equivalent_commands(request, output):
        print(f"  {line}")


def _add_weights_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="weights in the published format ({'state_dict': ...})")
    parser.add_argument(
        "--random-init",
        action="store_true",
        help="seeded random weights instead of a checkpoint (plumbing checks only)",
    )


def _add_force_onnx_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force-onnx",
        action="store_true",
        help="run an ONNX file that lacks stmfnet-trt's export metadata (not from `stmfnet-trt export`); "
        "its frames are then only as right as the file",
    )


def _add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """Which backend runs the model and what it is built from (shared by run and eval)."""
    parser.add_argument(
        "--backend",
        choices=sorted(BACKENDS),
        default="auto",
        help="auto: torch on a CUDA GPU, else ONNX Runtime; blend: frame averaging baseline",
    )
    _add_weights_arguments(parser)
    parser.add_argument(
        "--onnx", help="onnxruntime backend: an exported model (else exported once and cached)"
    )
    _add_force_onnx_argument(parser)
    parser.add_argument(
        "--engine", help="tensorrt backend: an engine from `stmfnet-trt build` (with its .json)"
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        help="ONNX variant to export for onnxruntime (default: cpu where the op library is built)",
    )
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=positive_int, help="CPU threads for inference")


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
    _add_backend_arguments(run)
    add_triton_client_arguments(run)
    run.add_argument("--batch-size", type=positive_int, default=1, help="windows per inference call")
    run.add_argument(
        "--tile",
        type=positive_int,
        help="run the model on square tiles of this side (a multiple of 128) and blend them: for "
        "frames too big for memory; changes the result slightly (see runtime/tiling.py)",
    )
    run.add_argument(
        "--tile-overlap", type=int, default=64, help="pixels neighbouring tiles share at least (blended)"
    )
    run.add_argument("--max-frames", type=positive_int, help="read at most this many input frames")
    run.add_argument("--fps", type=_fraction, help="frame rate of a frame folder (default 25)")
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
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    # Streams: `run - -o -` (runtime/stream.py).
    run.add_argument(
        "--y4m-matrix",
        choices=("auto", "bt601", "bt709"),
        default="auto",
        help="YUV<->RGB matrix of a y4m stream (its header has none); auto: BT.709 for HD, else BT.601",
    )
    run.set_defaults(handler=cmd_run)


def _add_export(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser("export", help="export a checkpoint to ONNX (checked, parity-tested)")
    _add_weights_arguments(export)
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


def _add_check(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser("check", help="compare ONNX models with PyTorch and each other")
    check.add_argument("model", help="the ONNX model to check")
    check.add_argument("--against", nargs="*", default=[], help="more ONNX models to compare")
    _add_weights_arguments(check)
    check.add_argument(
        "--sizes",
        type=_size,
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


def _add_build(subparsers: argparse._SubParsersAction) -> None:
    build = subparsers.add_parser("build", help="build a TensorRT or TensorRT-RTX engine from an ONNX model")
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
        "--held-out", type=positive_int, default=4, help="windows kept out of calibration for the gate"
    )
    build.add_argument(
        "--calib-shape",
        type=_size,
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
        default="1x128x128:1x640x1152:1x1152x2048",
        help="optimisation profile MIN:OPT:MAX, each NxHxW, H and W multiples of 128",
    )
    build.add_argument(
        "--sm", type=_sm_list, default=[86, 89], help="rtx: target compute capabilities, e.g. 86,89,120"
    )
    build.add_argument("--plugin", help="plugin library (default: the one built by `make plugins`)")
    build.add_argument(
        "--no-embed-plugin",
        action="store_true",
        help="do not list the plugin library in plugins_to_serialize (TensorRT-RTX then leaves it out of "
        "the engine; classic TensorRT stores it only in version-compatible engines): ship it beside "
        "the engine",
    )
    build.add_argument("--workspace", type=positive_int, default=4096, help="builder workspace limit in MiB")
    build.add_argument("--overwrite", action="store_true")
    build.set_defaults(handler=cmd_build)


def _add_eval(subparsers: argparse._SubParsersAction) -> None:
    evaluate = add_eval_parser(subparsers, lambda args: BACKENDS[args.backend](args))
    _add_backend_arguments(evaluate)
    add_triton_client_arguments(evaluate)


def _add_scale_out(subparsers: argparse._SubParsersAction) -> None:
    """serve (a Triton server over any backend), triton-repo, and batch (Ray)."""
    serve = add_serve_parser(subparsers, lambda args: BACKENDS[args.backend](args))
    _add_backend_arguments(serve)
    serve.add_argument("-q", "--quiet", action="store_true", help="no export progress messages")
    add_triton_repo_parser(subparsers)
    batch = add_batch_parser(subparsers, lambda args: BACKENDS[args.backend](args))
    _add_backend_arguments(batch)
    add_triton_client_arguments(batch)


def _add_bench(subparsers: argparse._SubParsersAction) -> None:
    bench = add_bench_parser(subparsers, lambda args: BACKENDS[args.backend](args))
    _add_weights_arguments(bench)
    bench.add_argument("--variant", choices=VARIANTS, help="ONNX variant to export for onnxruntime")
    _add_force_onnx_argument(bench)
    bench.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda or cuda:N")
    bench.add_argument("--threads", type=positive_int, help="CPU threads for inference")
    bench.add_argument("-q", "--quiet", action="store_true", help="no export progress messages")


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (with where to look) instead of the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="stmfnet-trt",
        description="ST-MFNet Mini video frame interpolation: PyTorch, ONNX and TensorRT.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_run(subparsers)
    _add_export(subparsers)
    _add_check(subparsers)
    _add_build(subparsers)
    add_train_parser(subparsers)
    _add_eval(subparsers)
    _add_bench(subparsers)
    _add_scale_out(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; every problem the user or the environment causes is one line.

    UserError, OS errors (a full disk, a permission, a vanished file), codec errors and running
    out of memory exit with status 2; SIGINT/SIGTERM/SIGHUP unwind like an error (temporary
    outputs removed) and exit with 128 + the signal number. Anything else is a bug: traceback,
    status 1.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"stmfnet-trt {args.command}: error:"
    try:
        with signals_as_exceptions():
            args.handler(args)
    except Interrupted as stop:
        print(
            f"stmfnet-trt {args.command}: stopped by {stop.name}; nothing half-written was left",
            file=sys.stderr,
        )
        return stop.exit_status
    except UserError as exc:
        print(f"{prefix} {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (OSError, av.error.FFmpegError) as exc:
        print(f"{prefix} {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:
        print(
            f"{prefix} out of memory; try a smaller --batch-size, or --tile for frames this large",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
