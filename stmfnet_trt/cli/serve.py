"""``stmfnet-trt serve`` (a Triton server over a local backend) and ``triton-repo``.

Parse, call ``serve_backend`` or ``write_repository``, print. The Triton packages are imported
when a command runs (they live in their own environment, see docs/serving.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stmfnet_trt.cli.arg_types import positive_float, positive_int
from stmfnet_trt.cli.backends import add_backend_arguments, backend_spec
from stmfnet_trt.cli.commands import SUBCOMMANDS
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.backends.specs import open_backend
from stmfnet_trt.runtime.backends.triton_model import (
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIDE,
    DEFAULT_MODEL_NAME,
    DEFAULT_MODEL_VERSION,
    DEFAULT_QUEUE_DELAY_US,
    LOOPBACK,
)
from stmfnet_trt.runtime.backends.triton_stream_model import DEFAULT_IDLE_S, DEFAULT_MAX_STREAMS
from stmfnet_trt.serve.repository import RepositoryOptions, write_repository
from stmfnet_trt.serve.server import ServeOptions, is_loopback, serve_backend


def cmd_serve(args: argparse.Namespace) -> None:
    """Build the local backend once and serve it until SIGINT/SIGTERM."""

    if args.backend == "triton":
        raise UserError("serve runs a model here: pick a local backend (onnxruntime, tensorrt, torch, ...)")
    options = ServeOptions(
        host=args.host,
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        metrics_port=args.metrics_port,
        model_name=args.model_name,
        model_version=args.model_version,
        max_batch_size=args.max_batch_size,
        queue_delay_us=args.queue_delay_us,
        max_side=args.max_side,
        max_pixels=args.max_pixels,
        max_streams=args.max_streams,
        stream_idle_s=args.stream_idle_timeout,
    )

    def announce() -> None:
        if not is_loopback(options.host):
            print(
                f"warning: listening on {options.host}, beyond this machine, with no authentication: "
                "anyone who can reach it can use it; put it behind a firewall or an authenticating proxy",
                file=sys.stderr,
                flush=True,
            )
        print(
            f"serving {options.model_name} and {options.stream_model} version {options.model_version} "
            f"({backend.name} backend): "
            f"HTTP {options.host}:{options.http_port}, gRPC {options.host}:{options.grpc_port}, "
            f"metrics {options.host}:{options.metrics_port}; frames up to {options.max_side} px a side "
            f"and {options.max_pixels} pixels, {options.max_batch_size} windows a request, "
            f"{options.max_streams} streams; "
            f"ready at /v2/models/{options.model_name}/ready",
            flush=True,
        )

    with open_backend(backend_spec(args, batch_size=args.max_batch_size)) as backend:
        serve_backend(backend, options, on_ready=announce)
    print("server stopped", flush=True)


def add_serve_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``stmfnet-trt serve`` with the shared backend options (as for run and eval)."""
    parser = SUBCOMMANDS["serve"].add_to(subparsers)
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help="address to listen on (default: this machine only; 0.0.0.0 opens it to the network, "
        "with no authentication)",
    )
    parser.add_argument("--http-port", type=positive_int, default=8000)
    parser.add_argument("--grpc-port", type=positive_int, default=8001)
    parser.add_argument("--metrics-port", type=positive_int, default=8002)
    _add_model_identity(parser, "name to serve the model under", "version to serve it as")
    parser.add_argument(
        "--max-batch-size",
        type=positive_int,
        default=DEFAULT_MAX_BATCH_SIZE,
        help="windows per backend call, and per request",
    )
    parser.add_argument(
        "--max-side",
        type=positive_int,
        default=DEFAULT_MAX_SIDE,
        help="largest frame side a request may send, in pixels (default: DCI 4K width)",
    )
    parser.add_argument(
        "--max-pixels",
        type=positive_int,
        default=DEFAULT_MAX_PIXELS,
        help="largest frame area a request may send (default: DCI 4K padded to 128, 4096x2176)",
    )
    parser.add_argument(
        "--queue-delay-us",
        type=int,
        default=DEFAULT_QUEUE_DELAY_US,
        help="how long Triton holds a request to batch it with others (microseconds)",
    )
    parser.add_argument(
        "--max-streams",
        type=positive_int,
        default=DEFAULT_MAX_STREAMS,
        help="streams the stream model holds open at once (each holds a few frames per level)",
    )
    parser.add_argument(
        "--stream-idle-timeout",
        type=positive_float,
        default=DEFAULT_IDLE_S,
        help="seconds after which a stream with no request is closed (its client is gone)",
    )
    add_backend_arguments(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no export progress messages")
    parser.set_defaults(handler=cmd_serve)
    return parser


def _add_model_identity(parser: argparse.ArgumentParser, name_help: str, version_help: str) -> None:
    parser.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help=name_help)
    parser.add_argument(
        "--model-version", type=positive_int, default=DEFAULT_MODEL_VERSION, help=version_help
    )


def cmd_triton_repo(args: argparse.Namespace) -> None:

    options = RepositoryOptions(
        model_name=args.model_name,
        version=args.model_version,
        max_batch_size=args.max_batch_size,
        queue_delay_us=args.queue_delay_us,
        instances=args.instances,
        gpu_instances=args.gpu,
        library_dir=args.library_dir,
        plugin=args.plugin and Path(args.plugin),
        overwrite=args.overwrite,
    )
    model_dir = write_repository(Path(args.model), Path(args.output), options)
    print(f"wrote {model_dir}/config.pbtxt; start the server as {Path(args.output) / 'README.md'} says")


def add_triton_repo_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``stmfnet-trt triton-repo MODEL -o REPO``."""
    parser = SUBCOMMANDS["triton-repo"].add_to(subparsers)
    parser.add_argument("model", help="an engine from `stmfnet-trt build` (with its .json) or an ONNX file")
    parser.add_argument("-o", "--output", required=True, help="the repository folder to write")
    _add_model_identity(parser, "model name in the repository", "version folder to write")
    parser.add_argument(
        "--max-batch-size",
        type=positive_int,
        default=DEFAULT_MAX_BATCH_SIZE,
        help="windows Triton may batch (engines: at most their profile's N)",
    )
    parser.add_argument("--queue-delay-us", type=int, default=DEFAULT_QUEUE_DELAY_US)
    parser.add_argument(
        "--instances", type=positive_int, default=1, help="model instances (per GPU for engines)"
    )
    parser.add_argument("--gpu", action="store_true", help="ONNX: GPU instances (CUDA EP) instead of CPU")
    parser.add_argument("--plugin", help="engines: the plugin library it was built with (default: ours)")
    parser.add_argument(
        "--library-dir",
        help="where the server sees REPO/plugins, if mounted elsewhere (e.g. /models/plugins)",
    )
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(handler=cmd_triton_repo)
    return parser
