"""TensorRT backend: runs an engine of either flavour (classic TensorRT or TensorRT-RTX). No torch.

An engine is code, so nothing deserialises it before ``check_engine`` has verified it: the
sidecar must parse, the bytes about to be loaded must hash to its ``engine_sha256``, and the
TensorRT version, GPU or RTX targets and plugin build it names must be this machine's (a
mismatched engine fails obscurely or crashes). After loading, the engine's I/O must be the
contract's (FP32, linear layout, one profile with a batch of 1 allowed) before anything runs.

Threads and contexts: TensorRT lets many threads run one engine only with one
``IExecutionContext`` each; a context holds the shapes, addresses and scratch memory of one
enqueue at a time. So every x2 level of an x4/x8 run (each with its own feeder thread and
compute stream) gets its own ``EngineContext``, and the per-batch path has one of its own,
used under a lock (``serve`` calls it from several threads).

Two paths: ``interpolate`` copies a batch of windows in and out synchronously (the protocol every
backend answers); ``double_frame_rate`` is the scheduler's x2 level through the overlapped
pipeline with device-resident frames (``trt_pipeline``), used by ``interpolate_stream`` for every
level of x2/x4/x8 runs unless ``TensorRTOptions.pipeline`` is off. The GPU side is tested on the
CPU against fakes of TensorRT and CUDA that enforce the real API's contracts (tests/support,
tests/runtime/backends); on a GPU by the ``tensorrt``-marked tests and ``scripts/first_gpu_run.sh``.

For TensorRT-RTX the JIT runtime cache is kept next to the engine so a second start skips the
specialisation; where that folder is not writable it is kept in the user cache instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stmfnet_trt.core.cache import cache_root
from stmfnet_trt.core.contract import INPUT_NAMES, OUTPUT_NAME, pad_to_multiple
from stmfnet_trt.core.errors import Param, UserError
from stmfnet_trt.core.flavours import FLAVOUR_MODULES
from stmfnet_trt.engine.sidecar import EngineTrustError, mismatches, sha256_of, verify_engine
from stmfnet_trt.plugins import load_trt_plugin, trt_plugin_library_path
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.cuda.binding import CudaBinding, plugin_driver_problem
from stmfnet_trt.runtime.cuda.memory import DeviceBuffer, Stream, current_device
from stmfnet_trt.runtime.cuda.selection import select_binding
from stmfnet_trt.runtime.cuda.trt_pipeline import pipelined_level
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, double_frame_rate

RUNTIME_CACHE_SUFFIX = ".runtime_cache"
# What the runtime feeds and reads: the export contract's FP32 NCHW tensors, no vectorised layout.
IO_DTYPE = "FLOAT"
IO_FORMAT = "LINEAR"


@dataclass(frozen=True)
class TensorRTOptions:
    """``engine`` needs its sidecar (``ENGINE.json``) beside it, as ``stmfnet-trt build`` writes.

    ``binding``: ``cuda-python`` or ``pycuda`` (default: ``$STMFNET_CUDA_BINDING``, else the
    first installed). ``pipeline``: the overlapped path for whole streams (off: per batch).
    """

    engine: Path
    binding: str | None = None
    pipeline: bool = True


def engine_environment(flavour: str, binding: CudaBinding | None = None) -> dict[str, str]:
    """What this machine offers an engine of ``flavour``: version, plugin build, GPU."""
    module = importlib.import_module(FLAVOUR_MODULES[flavour])
    return {
        "flavour": flavour,
        "tensorrt_version": module.__version__,
        "plugin_sha256": sha256_of(trt_plugin_library_path()),
        **current_device(binding),
    }


def check_engine(engine: Path, environment: dict[str, str] | None = None) -> dict:
    """The engine's sidecar once the engine is verified, or a UserError listing why it cannot run.

    ``environment`` defaults to this machine's (``engine_environment``); tests pass their own.
    """
    description = verify_engine(Path(engine))
    check_environment(engine, description, environment)
    return description


def check_environment(
    engine: Path,
    description: dict,
    environment: dict[str, str] | None = None,
    binding: CudaBinding | None = None,
) -> None:
    """Refuse, with the reasons, a verified engine that was not built for this machine."""
    flavour = description["flavour"]
    if environment is None:
        if importlib.util.find_spec(FLAVOUR_MODULES[flavour]) is None:
            raise UserError(
                f"{engine} is a {flavour} engine and the {FLAVOUR_MODULES[flavour]} module is not installed"
            )
        environment = engine_environment(flavour, binding)
    reasons = mismatches(description, environment)
    if reasons:
        raise UserError(
            f"{engine} cannot run here: " + "; ".join(reasons) + ". Rebuild it with `stmfnet-trt build`."
        )


@dataclass(frozen=True)
class EngineProfile:
    """The (N, H, W) range of the engine's first optimisation profile (all four inputs alike)."""

    min: tuple[int, int, int]
    max: tuple[int, int, int]

    def refusal(self, batch: int, height: int, width: int) -> UserError | None:
        """Why (batch, height, width) is outside the profile, or None."""
        shape = (batch, height, width)
        if all(low <= v <= high for low, v, high in zip(self.min, shape, self.max, strict=True)):
            return None
        low, high = ("x".join(map(str, s)) for s in (self.min, self.max))
        return UserError(
            f"{batch} window(s) of {width}x{height} (padded) are outside the engine's profile "
            f"(NxHxW {low} .. {high}); rebuild it with ",
            Param("shapes"),
            " covering them, or use ",
            Param("tiles"),
        )


def engine_profile(engine: Any, path: Path) -> EngineProfile:
    """The first profile's bounds, the same for every input; UserError where they differ."""
    bounds = set()
    for name in INPUT_NAMES:
        low, _, high = engine.get_tensor_profile_shape(name, 0)
        bounds.add(((low[0], low[2], low[3]), (high[0], high[2], high[3])))
    if len(bounds) != 1:
        raise UserError(f"{path}: the four frame inputs have different profiles; rebuild the engine")
    low, high = bounds.pop()
    if low[0] != 1:
        raise UserError(
            f"{path}: its profile's smallest batch is {low[0]}, but a run's last batch can hold one "
            "window; rebuild it with a minimum batch of 1 (",
            Param("shapes"),
            " 1xHxW:...)",
        )
    return EngineProfile(tuple(int(v) for v in low), tuple(int(v) for v in high))


def check_io(trt: Any, engine: Any, path: Path) -> None:
    """Refuse an engine whose frames or output are not FP32 in linear NCHW layout (the contract).

    The runtime moves 4-byte floats in NCHW order; an FP16-I/O or vectorised-layout engine would
    read them as something else and return garbage without any error.
    """
    for name in (*INPUT_NAMES, OUTPUT_NAME):
        dtype, layout = engine.get_tensor_dtype(name), engine.get_tensor_format(name)
        if dtype != getattr(trt.DataType, IO_DTYPE) or layout != getattr(trt.TensorFormat, IO_FORMAT):
            raise UserError(
                f"{path}: tensor {name} is {dtype.name} in {layout.name} layout; this runtime feeds "
                f"{IO_DTYPE} {IO_FORMAT} (the export contract): build the engine from our export"
            )


class EngineContext:
    """One ``IExecutionContext``: a ``Launcher`` for one thread and one stream at a time.

    Every TensorRT result is checked: ``set_input_shape`` / ``set_tensor_address`` return False
    (not raise) on a shape outside the profile or a bad address, and ``execute_async_v3`` False on
    a failed enqueue.
    """

    def __init__(self, context: Any, profile: EngineProfile, path: Path) -> None:
        if context is None:
            raise UserError(
                f"TensorRT could not create an execution context for {path} (out of GPU memory? "
                "see the log above); free GPU memory or use a smaller profile"
            )
        self.context, self.profile, self.path = context, profile, path

    def launch(self, stream: Any, inputs: Sequence[int], output: int, batch: int, height: int, width: int):
        """Bind device tensors by name and enqueue on ``stream`` (a raw handle, see the binding)."""
        refusal = self.profile.refusal(batch, height, width)
        if refusal is not None:
            raise refusal
        for name, pointer in zip(INPUT_NAMES, inputs, strict=True):
            if not self.context.set_input_shape(name, (batch, 3, height, width)):
                shape = f"{batch}x3x{height}x{width}"
                raise UserError(f"TensorRT refused the shape {shape} for {name} of {self.path}")
            self._bind(name, pointer)
        self._bind(OUTPUT_NAME, output)
        if not self.context.execute_async_v3(stream):
            raise RuntimeError("TensorRT execute_async_v3 failed (see the log above)")

    def _bind(self, name: str, pointer: int) -> None:
        if not self.context.set_tensor_address(name, pointer):
            raise RuntimeError(f"TensorRT refused the device address {pointer:#x} for {name}")

    def close(self) -> None:
        """Drop the context (TensorRT frees it and its scratch memory when the object goes)."""
        self.context = None


class StreamLauncher:
    """An ``EngineContext`` seen by the pipeline: its streams are the binding's objects."""

    def __init__(self, context: EngineContext, binding: CudaBinding) -> None:
        self.context, self.binding = context, binding

    def launch(self, stream: Any, inputs: Sequence[int], output: int, batch: int, height: int, width: int):
        self.context.launch(self.binding.stream_handle(stream), inputs, output, batch, height, width)


class RuntimeCacheFile:
    """Where the TensorRT-RTX runtime cache lives: beside the engine, else in the user cache.

    Engines are often installed read-only (a package, a container layer); then the cache is kept
    under ``cache_root()/runtime_cache``, keyed on the engine's sha256, and that is said once.
    """

    _announced = False

    def __init__(self, engine: Path, engine_sha256: str) -> None:
        self.beside = engine.with_name(engine.name + RUNTIME_CACHE_SUFFIX)
        self.fallback = cache_root() / "runtime_cache" / f"{engine_sha256[:24]}{RUNTIME_CACHE_SUFFIX}"

    def read(self) -> bytes | None:
        """The latest cache: the fallback exists only when the engine's folder refused a write."""
        for path in (self.fallback, self.beside):
            if path.is_file():
                return path.read_bytes()
        return None

    def write(self, data: bytes) -> Path:
        """Store ``data`` atomically beside the engine or, where that fails, in the user cache."""
        try:
            return _replace_file(self.beside, data)
        except OSError as exc:
            path = _replace_file(self.fallback, data)
            if not RuntimeCacheFile._announced:
                RuntimeCacheFile._announced = True
                print(
                    f"note: {self.beside.parent} is not writable ({exc.strerror}); the TensorRT-RTX "
                    f"runtime cache is kept in {path.parent}",
                    file=sys.stderr,
                )
            return path


def _replace_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{threading.get_ident()}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


class TensorRTBackend(Backend):
    """``frame0..frame3 -> middle`` through ``execute_async_v3``; pads to the contract, crops back."""

    name = "tensorrt"
    runs_own_x2_level = True

    def __init__(self, options: TensorRTOptions) -> None:
        engine_path = Path(options.engine)
        self.path = engine_path
        try:
            data = engine_path.read_bytes()
        except FileNotFoundError:
            raise EngineTrustError(f"engine not found: {engine_path}") from None
        except OSError as exc:
            raise EngineTrustError(f"cannot read engine {engine_path}: {exc.strerror}") from None
        # Verified first, whatever this machine has: a forged engine is refused as such.
        self.description = verify_engine(engine_path, data)
        self.binding = select_binding(options.binding)
        check_environment(engine_path, self.description, binding=self.binding)
        flavour = self.description["flavour"]
        trt = importlib.import_module(FLAVOUR_MODULES[flavour])
        problem = plugin_driver_problem(load_trt_plugin(trt))
        if problem is not None:
            raise UserError(problem)
        self.binding.make_current()
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(data)
        if self.engine is None:
            raise UserError(f"TensorRT could not deserialize {engine_path} (see the log above)")
        check_io(trt, self.engine, engine_path)
        self.profile = engine_profile(self.engine, engine_path)
        self.runtime_cache_file: RuntimeCacheFile | None = None
        self.runtime_cache = None
        self._create_context: Callable[[], Any] = self.engine.create_execution_context
        if flavour == "rtx":
            self.runtime_cache_file = RuntimeCacheFile(engine_path, self.description["engine_sha256"])
            self.runtime_cache = self.engine.create_runtime_config().create_runtime_cache()
            cached = self.runtime_cache_file.read()
            if cached is not None:
                self.runtime_cache.deserialize(cached)
            self._create_context = self._create_rtx_context
        self.integrated = bool(self.binding.device_info()["integrated"])
        self.pipeline = options.pipeline
        # The per-batch path: its own context, stream and buffers, one call at a time.
        self._batch_lock = threading.Lock()
        self._batch_context = self.new_context()
        self.stream = Stream(self.binding)
        self.buffers = {name: DeviceBuffer(self.binding) for name in (*INPUT_NAMES, OUTPUT_NAME)}

    def _create_rtx_context(self) -> Any:
        """A context whose JIT kernels go to (and come from) the one shared runtime cache."""
        config = self.engine.create_runtime_config()
        config.set_runtime_cache(self.runtime_cache)
        return self.engine.create_execution_context(config)

    def new_context(self) -> EngineContext:
        """A fresh execution context for one thread/stream (a level, or the per-batch path)."""
        self.binding.make_current()
        return EngineContext(self._create_context(), self.profile, self.path)

    @property
    def context(self) -> Any:
        """The ``IExecutionContext`` that ``interpolate`` runs on (e.g. to attach a profiler)."""
        return self._batch_context.context

    def profile_max_batch(self) -> int:
        """The largest batch of windows the engine's profile accepts."""
        return self.profile.max[0]

    def double_frame_rate(
        self, frames: Iterable[np.ndarray], detector: SceneCutDetector, batch_size: int, stats: SchedulerStats
    ) -> Iterator[np.ndarray]:
        """The scheduler's x2 level, pipelined on the GPU (see ``trt_pipeline``); same frames."""
        batch = max(1, min(batch_size, self.profile_max_batch()))
        if not self.pipeline:
            return double_frame_rate(frames, self, detector, batch, stats)
        return self._pipelined_level(frames, detector, batch, stats)

    def _pipelined_level(
        self, frames: Iterable[np.ndarray], detector: SceneCutDetector, batch: int, stats: SchedulerStats
    ) -> Iterator[np.ndarray]:
        """One level with an execution context of its own, dropped when the level ends."""
        context = self.new_context()
        try:
            launcher = StreamLauncher(context, self.binding)
            yield from pipelined_level(
                self.binding, launcher, frames, detector, batch, stats, mapped=self.integrated
            )
        finally:
            context.close()

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        """Batches of at most the profile's largest N, one call at a time on the per-batch context."""
        height, width = windows.shape[-2:]
        padded = pad_to_multiple(windows)
        refusal = self.profile.refusal(1, *padded.shape[-2:])
        if refusal is not None:
            raise refusal
        step = self.profile_max_batch()
        with self._batch_lock:
            outputs = [self._run_batch(padded[start : start + step]) for start in range(0, len(padded), step)]
        return np.concatenate(outputs)[:, :, :height, :width]

    def _run_batch(self, padded: np.ndarray) -> np.ndarray:
        batch, _, channels, padded_h, padded_w = padded.shape
        out = np.empty((batch, channels, padded_h, padded_w), np.float32)
        # Kept alive until the stream is synchronised: an async copy reads them when it runs.
        frames = [np.ascontiguousarray(padded[:, index]) for index in range(len(INPUT_NAMES))]
        for name, frame in zip(INPUT_NAMES, frames, strict=True):
            self.stream.upload(self.buffers[name].ensure(frame.nbytes), frame)
        pointers = [self.buffers[name].pointer for name in INPUT_NAMES]
        output = self.buffers[OUTPUT_NAME].ensure(out.nbytes)
        self._batch_context.launch(self.stream.handle, pointers, output, batch, padded_h, padded_w)
        self.stream.download(out, output)
        self.stream.synchronize()
        return out

    def close(self) -> None:
        if self.runtime_cache is not None and self.runtime_cache_file is not None:
            self.runtime_cache_file.write(bytes(self.runtime_cache.serialize()))
        self._batch_context.close()
        self.stream.synchronize()  # a failed call may have left copies queued on the buffers
        for buffer in self.buffers.values():
            buffer.free()
        self.stream.destroy()
