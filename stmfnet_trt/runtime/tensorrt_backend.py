"""TensorRT backend: runs an engine of either flavour (classic TensorRT or TensorRT-RTX). No torch.

The engine's sidecar says which flavour, TensorRT version, GPU or RTX targets and plugin build it
was made for; an engine that does not match this machine is refused with the reasons before
TensorRT sees it (a mismatched engine fails obscurely or crashes). For TensorRT-RTX the JIT
runtime cache is kept next to the engine so a second start skips the specialisation.

Two paths: ``interpolate`` copies a batch of windows in and out synchronously (the protocol every
backend answers); ``double_frame_rate`` is the scheduler's x2 level through the overlapped
pipeline with device-resident frames (``trt_pipeline``), used by ``interpolate_stream`` for every
level of x2/x4/x8 runs unless ``TensorRTOptions.pipeline`` is off. The GPU side of both is
written, not run on a GPU: this project's machines have none (the sidecar checks and the
pipeline's logic, on a fake CUDA binding, are tested on the CPU).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.sidecar import mismatches, read_sidecar, sidecar_path
from ..engine.worker import MODULES
from ..errors import UserError
from ..export.contract import INPUT_NAMES, OUTPUT_NAME, pad_to_multiple
from ..plugins import load_trt_plugin, trt_plugin_library_path
from .backend import Backend
from .cuda_binding import select_binding
from .cuda_memory import DeviceBuffer, Stream, current_device
from .scene import SceneCutDetector
from .scheduler import SchedulerStats
from .trt_pipeline import pipelined_level

RUNTIME_CACHE_SUFFIX = ".runtime_cache"


@dataclass(frozen=True)
class TensorRTOptions:
    """``engine`` needs its sidecar (``ENGINE.json``) beside it, as ``stmfnet-trt build`` writes.

    ``binding``: ``cuda-python`` or ``pycuda`` (default: ``$STMFNET_CUDA_BINDING``, else the
    first installed). ``pipeline``: the overlapped path for whole streams (off: per batch).
    """

    engine: Path
    binding: str | None = None
    pipeline: bool = True


def engine_environment(flavour: str) -> dict[str, str]:
    """What this machine offers an engine of ``flavour``: version, plugin build, GPU."""
    module = importlib.import_module(MODULES[flavour])
    from ..engine.sidecar import sha256_of

    return {
        "flavour": flavour,
        "tensorrt_version": module.__version__,
        "plugin_sha256": sha256_of(trt_plugin_library_path()),
        **current_device(),
    }


def check_engine(engine: Path, environment: dict[str, str] | None = None) -> dict:
    """The engine's sidecar, or a UserError listing why it cannot run here.

    ``environment`` defaults to this machine's (``engine_environment``); tests pass their own.
    """
    if not engine.is_file():
        raise UserError(f"engine not found: {engine}")
    if not sidecar_path(engine).is_file():
        raise UserError(
            f"{engine} has no sidecar {sidecar_path(engine).name}: rebuild it with `stmfnet-trt build`"
        )
    description = read_sidecar(engine)
    flavour = description.get("flavour")
    if flavour not in MODULES:
        raise UserError(f"{sidecar_path(engine)} names an unknown flavour {flavour!r}")
    if environment is None:
        if importlib.util.find_spec(MODULES[flavour]) is None:
            raise UserError(
                f"{engine} is a {flavour} engine and the {MODULES[flavour]} module is not installed"
            )
        environment = engine_environment(flavour)
    reasons = mismatches(description, environment)
    if reasons:
        raise UserError(
            f"{engine} cannot run here: " + "; ".join(reasons) + ". Rebuild it with `stmfnet-trt build`."
        )
    return description


class TensorRTBackend(Backend):
    """``frame0..frame3 -> middle`` through ``execute_async_v3``; pads to the contract, crops back."""

    name = "tensorrt"

    def __init__(self, options: TensorRTOptions) -> None:
        engine_path = Path(options.engine)
        self.description = check_engine(engine_path)
        flavour = self.description["flavour"]
        trt = importlib.import_module(MODULES[flavour])
        load_trt_plugin(trt)
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise UserError(f"TensorRT could not deserialize {engine_path} (see the log above)")
        self.runtime_cache_path = engine_path.with_name(engine_path.name + RUNTIME_CACHE_SUFFIX)
        self.runtime_cache = None
        if flavour == "rtx":
            config = self.engine.create_runtime_config()
            self.runtime_cache = config.create_runtime_cache()
            if self.runtime_cache_path.is_file():
                self.runtime_cache.deserialize(self.runtime_cache_path.read_bytes())
            config.set_runtime_cache(self.runtime_cache)
            self.context = self.engine.create_execution_context(config)
        else:
            self.context = self.engine.create_execution_context()
        self.binding = select_binding(options.binding)
        self.integrated = bool(self.binding.device_info()["integrated"])
        self.stream = Stream(self.binding)
        self.buffers = {name: DeviceBuffer(self.binding) for name in (*INPUT_NAMES, OUTPUT_NAME)}
        self.pipeline = options.pipeline

    def profile_max_batch(self) -> int:
        """The largest batch of windows the engine's first profile accepts."""
        return int(self.engine.get_tensor_profile_shape(INPUT_NAMES[0], 0)[2][0])

    def launch(self, stream: Any, inputs: Sequence[int], output: int, batch: int, height: int, width: int):
        """``Launcher`` for the pipeline: bind device tensors by name, enqueue on ``stream``."""
        for name, pointer in zip(INPUT_NAMES, inputs, strict=True):
            self.context.set_input_shape(name, (batch, 3, height, width))
            self.context.set_tensor_address(name, pointer)
        self.context.set_tensor_address(OUTPUT_NAME, output)
        if not self.context.execute_async_v3(self.binding.stream_handle(stream)):
            raise RuntimeError("TensorRT execute_async_v3 failed (see the log above)")

    def double_frame_rate(
        self, frames: Iterable[np.ndarray], detector: SceneCutDetector, batch_size: int, stats: SchedulerStats
    ) -> Iterator[np.ndarray]:
        """The scheduler's x2 level, pipelined on the GPU (see ``trt_pipeline``); same frames."""
        if not self.pipeline:
            from .scheduler import double_frame_rate

            return double_frame_rate(frames, self, detector, batch_size, stats)
        batch = max(1, min(batch_size, self.profile_max_batch()))
        return pipelined_level(self.binding, self, frames, detector, batch, stats, mapped=self.integrated)

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        height, width = windows.shape[-2:]
        padded = pad_to_multiple(windows)
        batch, _, channels, padded_h, padded_w = padded.shape
        frames = [np.ascontiguousarray(padded[:, i]) for i in range(len(INPUT_NAMES))]
        out = np.empty((batch, channels, padded_h, padded_w), np.float32)
        for name, frame in zip(INPUT_NAMES, frames, strict=True):
            pointer = self.buffers[name].ensure(frame.nbytes)
            self.stream.upload(pointer, frame)
        pointers = [self.buffers[name].pointer for name in INPUT_NAMES]
        output = self.buffers[OUTPUT_NAME].ensure(out.nbytes)
        self.launch(self.stream.stream, pointers, output, batch, padded_h, padded_w)
        self.stream.download(out, self.buffers[OUTPUT_NAME].pointer)
        self.stream.synchronize()
        return out[:, :, :height, :width]

    def close(self) -> None:
        if self.runtime_cache is not None:
            self.runtime_cache_path.write_bytes(bytes(self.runtime_cache.serialize()))
        for buffer in self.buffers.values():
            buffer.free()
        self.stream.destroy()
