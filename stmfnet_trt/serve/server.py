"""``stmfnet-trt serve``: a real Triton Inference Server in front of any of our backends.

PyTriton (``nvidia-pytriton``) ships a ``tritonserver`` binary with its Python backend; this
module binds our ``Backend.interpolate`` to it under the wire contract of ``model_io``. Triton
does the serving work: HTTP and gRPC endpoints, health/ready (``/v2/health/ready``,
``/v2/models/NAME/ready``), metrics, and dynamic batching, which merges windows of the same size
from concurrent clients into one backend call.

Two things this module takes care of, found by running it:

- The Python backend's stub process links ``libpython3.X.so`` and the system loader may pick a
  different build of that version than the interpreter running us (e.g. Debian's 3.11.2 next to
  a pyenv 3.11.7): the stub then fails with errors from mismatched stdlib internals. The running
  interpreter's ``LIBDIR`` is put first on ``LD_LIBRARY_PATH`` so the stub loads our libpython.
- PyTriton stops cleanly on SIGINT only; SIGTERM (what ``docker stop``, systemd and Kubernetes
  send) is routed to the same path, so in-flight requests finish and the workspace is removed.
"""

from __future__ import annotations

import logging
import os
import signal
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..runtime.backend import Backend
from .model_io import (
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MODEL_NAME,
    DEFAULT_MODEL_VERSION,
    DEFAULT_QUEUE_DELAY_US,
    INPUT_NAMES,
    OUTPUT_NAME,
    WINDOW_DIMS,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    """Where and how to serve. Ports are Triton's defaults (HTTP 8000, gRPC 8001, metrics 8002)."""

    host: str = "0.0.0.0"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    model_name: str = DEFAULT_MODEL_NAME
    model_version: int = DEFAULT_MODEL_VERSION
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    queue_delay_us: int = DEFAULT_QUEUE_DELAY_US


def _stub_loads_our_libpython() -> None:
    """Put this interpreter's libpython first on LD_LIBRARY_PATH (see the module docstring)."""
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        return
    libdir = sysconfig.get_config_var("LIBDIR")
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if libdir and libdir not in current.split(":"):
        os.environ["LD_LIBRARY_PATH"] = f"{libdir}:{current}" if current else libdir


def make_infer_function(backend: Backend) -> Callable[..., dict[str, np.ndarray]]:
    """The batched callable Triton runs: four frame tensors (N, 3, H, W) -> ``{"middle": ...}``.

    Bad input (sizes, values) raises the backend's InputError, which Triton returns to the
    client as an error for that request only; the server keeps serving.
    """
    from pytriton.decorators import batch

    @batch
    def infer(**frames: np.ndarray) -> dict[str, np.ndarray]:
        windows = np.stack([frames[name] for name in INPUT_NAMES], axis=1)
        return {OUTPUT_NAME: np.ascontiguousarray(backend.interpolate(windows), dtype=np.float32)}

    return infer


def serve_backend(
    backend: Backend, options: ServeOptions, on_ready: Callable[[], None] | None = None
) -> None:
    """Serve ``backend`` until SIGINT or SIGTERM; returns once the server has stopped cleanly."""
    try:
        from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
        from pytriton.triton import Triton, TritonConfig
    except ImportError as exc:
        raise UserError(
            "serve needs the serve extra (nvidia-pytriton, which pins numpy<2): "
            "pip install 'stmfnet-trt[serve]', or scripts/make_serve_env.sh for a separate environment"
        ) from exc
    _stub_loads_our_libpython()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    config = TritonConfig(
        http_address=options.host,
        http_port=options.http_port,
        grpc_address=options.host,
        grpc_port=options.grpc_port,
        metrics_address=options.host,
        metrics_port=options.metrics_port,
        exit_timeout_secs=10,
    )
    tensors = [Tensor(name=name, dtype=np.float32, shape=WINDOW_DIMS) for name in INPUT_NAMES]
    model_config = ModelConfig(
        max_batch_size=options.max_batch_size,
        batcher=DynamicBatcher(max_queue_delay_microseconds=options.queue_delay_us),
    )
    try:
        with Triton(config=config) as triton:
            triton.bind(
                model_name=options.model_name,
                model_version=options.model_version,
                infer_func=make_infer_function(backend),
                inputs=tensors,
                outputs=[Tensor(name=OUTPUT_NAME, dtype=np.float32, shape=WINDOW_DIMS)],
                config=model_config,
                strict=True,
            )
            if on_ready is not None:
                on_ready()
            triton.serve()
    except KeyboardInterrupt:
        log.info("stopping on a signal")
