"""What a backend is made from: one small frozen dataclass per backend, and ``open_backend``.

A spec is plain data (paths, numbers, names): it pickles to a Ray worker, prints in a log and
compares equal, where a live backend holds sessions, device memory or sockets. The CLI turns its
flags into a spec; ``serve``, ``batch``, the GStreamer element and user code make the same specs
and call ``open_backend``, so every front end builds a backend the same way (vs-mlrt's
``Backend.ORT_CPU(...)`` / ``Backend.TRT(...)`` read this way).

Weights: ``checkpoint=None`` means the demo weights the package carries (``weights.py``);
``random_init_seed`` replaces them with seeded random weights (plumbing checks only: the frames
are garbage). The ONNX Runtime and TensorRT specs export (and build) from those weights once and
cache the result when no ``model`` / ``engine`` file is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from stmfnet_trt.core.errors import Param, ParameterError
from stmfnet_trt.plugins import default_ort_variant
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.blend import BlendBackend
from stmfnet_trt.runtime.backends.tiling import TiledBackend, TileOptions
from stmfnet_trt.runtime.backends.torch_backend import TorchBackend, TorchOptions, cuda_available
from stmfnet_trt.runtime.backends.triton_client import TritonBackend, TritonOptions
from stmfnet_trt.weights import RANDOM_INIT_SEED, resolve_checkpoint


def _exclusive_weights(model_field: str, model: object, checkpoint: object, seed: object) -> None:
    if model is not None and (checkpoint is not None or seed is not None):
        raise ParameterError(
            model_field,
            "already holds the weights: drop ",
            Param("checkpoint"),
            "/",
            Param("random_init_seed"),
        )
    if checkpoint is not None and seed is not None:
        raise ParameterError("random_init_seed", "and checkpoint exclude each other")


def _exported_weights(checkpoint: Path | None, seed: int | None) -> Path | None:
    """The checkpoint an export is made from; None means random init, which exports use seed 0 for."""
    if seed is None:
        return resolve_checkpoint(checkpoint)
    if seed != RANDOM_INIT_SEED:
        raise ParameterError(
            "random_init_seed", f"must be {RANDOM_INIT_SEED} for exported graphs, got {seed}"
        )
    return None


# The modules that open ONNX Runtime and TensorRT backends (and make their exports and engines)
# are imported by the spec that opens one, not here: a run loads the backend it uses, not all of
# them (the TensorRT pipeline and engine cache were about 40 ms of every run's start). The
# layer test allows exactly these function-level imports (tests/test_layers.py).
OPENED_LAZILY = (
    "stmfnet_trt.export.cache",
    "stmfnet_trt.runtime.backends.onnxruntime_backend",
    "stmfnet_trt.engine.for_run",
    "stmfnet_trt.runtime.backends.tensorrt_backend",
)


@dataclass(frozen=True, kw_only=True)
class TorchSpec:
    """The PyTorch reference model (the oracle every other backend is compared against).

    ``device``: ``auto`` (CUDA when torch sees a GPU), ``cpu``, ``cuda`` or ``cuda:N``.
    ``threads``: intra-op CPU threads (None: torch's default).
    """

    checkpoint: Path | None = None
    random_init_seed: int | None = None
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        _exclusive_weights("checkpoint", None, self.checkpoint, self.random_init_seed)

    def open(self) -> Backend:
        checkpoint = None if self.random_init_seed is not None else resolve_checkpoint(self.checkpoint)
        options = TorchOptions(checkpoint, self.random_init_seed, self.device, self.threads)
        return TorchBackend(options)


@dataclass(frozen=True, kw_only=True)
class OnnxRuntimeSpec:
    """An exported graph in ONNX Runtime (CPU by default; ``providers`` picks others).

    ``model``: an ONNX file from ``export_onnx``; None exports ``variant`` from the weights once
    and caches it (``cpu``, the fastest on a CPU, where our op library is built; else
    ``portable``). ``force_foreign_onnx`` runs a file without our export metadata (its frames are
    then only as right as the file). ``progress``: show the one-time export's progress.
    """

    model: Path | None = None
    checkpoint: Path | None = None
    random_init_seed: int | None = None
    variant: str | None = None
    threads: int | None = None
    providers: tuple[str, ...] | None = None
    force_foreign_onnx: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        _exclusive_weights("model", self.model, self.checkpoint, self.random_init_seed)

    def open(self) -> Backend:
        from stmfnet_trt.export.cache import cached_onnx  # see OPENED_LAZILY
        from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions

        model = self.model
        if model is None:
            weights = _exported_weights(self.checkpoint, self.random_init_seed)
            model = cached_onnx(weights, self.variant or default_ort_variant(), progress=self.progress)
        options = OnnxRuntimeOptions(Path(model), self.threads, self.providers, self.force_foreign_onnx)
        return OnnxRuntimeBackend(options)


@dataclass(frozen=True, kw_only=True)
class TensorRTSpec:
    """A TensorRT or TensorRT-RTX engine (with its ``ENGINE.json`` sidecar) on an NVIDIA GPU.

    ``engine``: a plan from ``build_engine``; None exports and builds one for ``frame_size``
    (height, width) and ``batch_size`` from the weights, through the engine cache. ``binding``:
    ``cuda-python`` or ``pycuda`` (default: ``$STMFNET_CUDA_BINDING``, else the first installed).
    ``pipeline``: keep frames on the GPU across windows (off: one copy in and out per batch).
    """

    engine: Path | None = None
    checkpoint: Path | None = None
    random_init_seed: int | None = None
    frame_size: tuple[int, int] | None = None
    batch_size: int = 1
    binding: str | None = None
    pipeline: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        _exclusive_weights("engine", self.engine, self.checkpoint, self.random_init_seed)
        if self.engine is None and self.frame_size is None:
            raise ParameterError("engine", "is needed: an engine file (or a frame_size to build one for)")

    def open(self) -> Backend:
        from stmfnet_trt.engine.for_run import engine_for_run  # see OPENED_LAZILY
        from stmfnet_trt.runtime.backends.tensorrt_backend import TensorRTBackend, TensorRTOptions

        engine = self.engine
        if engine is None:
            assert self.frame_size is not None  # __post_init__
            weights = _exported_weights(self.checkpoint, self.random_init_seed)
            height, width = self.frame_size
            engine = engine_for_run(weights, height, width, self.batch_size, progress=self.progress)
        return TensorRTBackend(TensorRTOptions(Path(engine), self.binding, self.pipeline))


@dataclass(frozen=True, kw_only=True)
class BlendSpec:
    """No model: the middle frame is the mean of its two neighbours (the baseline, and a way to
    time everything around the model)."""

    def open(self) -> Backend:
        return BlendBackend()


# A Triton server running the model: its client's options are already plain data (url, protocol,
# model name and version, requests in flight, timeouts, retries).
TritonSpec: TypeAlias = TritonOptions

BackendSpec: TypeAlias = TorchSpec | OnnxRuntimeSpec | TensorRTSpec | TritonSpec | BlendSpec


def open_backend(spec: BackendSpec, *, tiles: TileOptions | None = None) -> Backend:
    """The backend ``spec`` describes, ready to use (a context manager: ``with open_backend(...)``).

    ``tiles`` runs it over overlapping square tiles, blended (frames too big for memory; the
    result changes slightly at the seams).
    """
    backend = TritonBackend(spec) if isinstance(spec, TritonOptions) else spec.open()
    return backend if tiles is None else TiledBackend(backend, tiles)


BACKEND_NAMES = ("auto", "torch", "onnxruntime", "tensorrt", "blend", "triton")


def auto_spec(
    *,
    onnx: Path | None = None,
    checkpoint: Path | None = None,
    random_init_seed: int | None = None,
    device: str = "auto",
    threads: int | None = None,
    variant: str | None = None,
    force_foreign_onnx: bool = False,
    progress: bool = True,
) -> TorchSpec | OnnxRuntimeSpec:
    """torch on a CUDA GPU (unless ``device`` is ``cpu`` or an ``onnx`` file is given), else ONNX
    Runtime (the export made once and cached, or ``onnx``)."""
    if onnx is None and device != "cpu" and cuda_available():
        return TorchSpec(
            checkpoint=checkpoint, random_init_seed=random_init_seed, device=device, threads=threads
        )
    return OnnxRuntimeSpec(
        model=onnx,
        checkpoint=checkpoint,
        random_init_seed=random_init_seed,
        variant=variant,
        threads=threads,
        force_foreign_onnx=force_foreign_onnx,
        progress=progress,
    )


def named_spec(
    name: str,
    *,
    onnx: Path | None = None,
    engine: Path | None = None,
    checkpoint: Path | None = None,
    random_init_seed: int | None = None,
    device: str = "auto",
    threads: int | None = None,
    variant: str | None = None,
    force_foreign_onnx: bool = False,
    frame_size: tuple[int, int] | None = None,
    batch_size: int = 1,
    triton: TritonOptions | None = None,
    progress: bool = True,
) -> BackendSpec:
    """The spec of a backend chosen by name (``BACKEND_NAMES``), from the settings a front end
    collects for all of them: the CLI's ``--backend``, the GStreamer element's ``backend``.

    Settings that do not apply to the named backend are ignored, as the CLI's flags are.
    """
    weights = {"checkpoint": checkpoint, "random_init_seed": random_init_seed}
    onnx_settings = {"variant": variant, "threads": threads, "force_foreign_onnx": force_foreign_onnx}
    if name == "auto":
        return auto_spec(onnx=onnx, device=device, progress=progress, **onnx_settings, **weights)
    if name == "torch":
        return TorchSpec(device=device, threads=threads, **weights)
    if name == "onnxruntime":
        return OnnxRuntimeSpec(model=onnx, progress=progress, **onnx_settings, **weights)
    if name == "tensorrt":
        return TensorRTSpec(
            engine=engine, frame_size=frame_size, batch_size=batch_size, progress=progress, **weights
        )
    if name == "blend":
        return BlendSpec()
    if name == "triton":
        if triton is None:
            raise ParameterError("url", "of a Triton server is needed for the triton backend (HOST:PORT)")
        return triton
    raise ParameterError("backend", f"must be one of {BACKEND_NAMES}, got {name!r}")
