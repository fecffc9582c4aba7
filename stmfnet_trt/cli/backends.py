"""The backend flags every model-running subcommand shares, and the spec they turn into.

``run``, ``eval``, ``serve``, ``batch`` and ``bench`` take the same ``--backend`` family of
flags; ``backend_spec`` makes the library's spec from them (``runtime.backends.specs``), which
each command hands to ``open_backend`` (or ships to Ray workers). No backend is built here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stmfnet_trt.cli.arg_types import optional_path, positive_int
from stmfnet_trt.core.contract import VARIANTS
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.backends.specs import BACKEND_NAMES, BackendSpec, TritonSpec, named_spec
from stmfnet_trt.runtime.backends.tiling import TileOptions
from stmfnet_trt.runtime.backends.triton_model import DEFAULT_MODEL_NAME
from stmfnet_trt.runtime.backends.triton_stream_model import WIRES
from stmfnet_trt.weights import RANDOM_INIT_SEED, resolve_checkpoint


def add_weights_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="weights in the published format ({'state_dict': ...})")
    parser.add_argument(
        "--random-init",
        action="store_true",
        help="seeded random weights instead of a checkpoint (plumbing checks only)",
    )


def add_force_onnx_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force-onnx",
        action="store_true",
        help="run an ONNX file that lacks stmfnet-trt's export metadata (not from `stmfnet-trt export`); "
        "its frames are then only as right as the file",
    )


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """Which backend runs the model and what it is built from."""
    parser.add_argument(
        "--backend",
        choices=sorted(BACKEND_NAMES),
        default="auto",
        help="auto: torch on a CUDA GPU, else ONNX Runtime; blend: frame averaging baseline",
    )
    add_weights_arguments(parser)
    parser.add_argument(
        "--onnx", help="onnxruntime backend: an exported model (else exported once and cached)"
    )
    add_force_onnx_argument(parser)
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


def add_triton_client_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``--backend triton`` (for run, eval and batch)."""
    group = parser.add_argument_group("--backend triton (a remote Triton server)")
    group.add_argument("--url", help="HOST:PORT of the server (Triton's defaults: gRPC 8001, HTTP 8000)")
    group.add_argument("--protocol", choices=("grpc", "http"), default="grpc")
    group.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="model to ask for")
    group.add_argument(
        "--model-version", default="", help="version to ask for (default: the server's newest)"
    )
    group.add_argument(
        "--wire",
        choices=WIRES,
        default="auto",
        help="stream: each frame sent once, as uint8, to the server's stream model; windows: four "
        "float32 frames per window, to the model alone (a stock tritonserver); auto: stream where "
        "the server serves it",
    )
    group.add_argument("--in-flight", type=positive_int, default=4, help="windows requests sent at once")
    group.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    group.add_argument(
        "--request-retries",
        type=int,
        default=2,
        help="tries again after a failure that can pass (server down...)",
    )


def weights_choice(args: argparse.Namespace) -> tuple[Path | None, int | None]:
    """(checkpoint path or None, random-init seed or None) from --checkpoint / --random-init."""
    if args.random_init and args.checkpoint:
        raise UserError("--random-init and --checkpoint exclude each other")
    if args.random_init:
        return None, RANDOM_INIT_SEED
    return resolve_checkpoint(args.checkpoint), None


def triton_spec(args: argparse.Namespace) -> TritonSpec | None:
    """The Triton client's settings, where the command has them and a URL was given."""
    if not getattr(args, "url", None):
        return None
    return TritonSpec(
        url=args.url,
        protocol=args.protocol,
        model_name=args.model_name,
        model_version=str(args.model_version),
        in_flight=args.in_flight,
        timeout_s=args.timeout,
        retries=args.request_retries,
        wire=args.wire,
    )


def backend_spec(
    args: argparse.Namespace, *, frame_size: tuple[int, int] | None = None, batch_size: int = 1
) -> BackendSpec:
    """The spec of ``--backend`` and its flags. ``frame_size``: what a TensorRT engine without
    ``--engine`` is built for (``run`` knows it from its input)."""
    return named_spec(
        args.backend,
        onnx=optional_path(getattr(args, "onnx", None)),
        engine=optional_path(getattr(args, "engine", None)),
        checkpoint=optional_path(args.checkpoint),
        random_init_seed=RANDOM_INIT_SEED if args.random_init else None,
        device=args.device,
        threads=args.threads,
        variant=args.variant,
        force_foreign_onnx=args.force_onnx,
        frame_size=frame_size,
        batch_size=batch_size,
        triton=triton_spec(args),
        progress=not getattr(args, "quiet", False),
    )


def tile_options(args: argparse.Namespace) -> TileOptions | None:
    """TileOptions from --tile/--tile-overlap (checked before any backend is built), or None."""
    return TileOptions(args.tile, args.tile_overlap) if args.tile else None
