"""stmfnet-trt: ST-MFNet Mini frame interpolation, from a PyTorch checkpoint to fast inference.

The public API (docs/api.md): backend specs and ``open_backend``; ``Interpolator`` (clips,
streams, files); ``export_onnx``, ``build_engine`` and ``evaluate``; the error classes. Example::

    import stmfnet_trt as st

    with st.Interpolator(st.OnnxRuntimeSpec(), factor=2) as interpolator:
        frames_x2 = interpolator.interpolate(frames)   # HxWx3 uint8 RGB frames

Subpackages, lowest layer first (docs/ARCHITECTURE.md; tests/test_layers.py enforces the order):
``core`` (errors, hashing, cache keys, the model contract, op identities, frame conversion),
``plugins`` / ``weights`` (where the native libraries and the demo weights are), ``model`` (the
PyTorch reference) and ``io`` (video, frame folders, y4m pipes, atomic outputs), ``export``
(ONNX), ``runtime.scheduling`` (windows, scene cuts, chunks, whole runs), ``calibration``
(FP16/INT8), ``runtime.cuda`` (CUDA bindings, device memory, the TensorRT pipeline), ``engine``
(engine builds and their cache), ``runtime.backends`` (torch, ONNX Runtime, TensorRT, Triton
client, blend, tiling; the specs), ``api`` (the interpolator and the build chain), then the
applications ``evaluation``, ``serve``, ``batch``, ``bench``, ``train``, ``gst``, and ``cli``.

The names below are imported on first use, so that ``import stmfnet_trt.core.errors`` (the
engine builder's child process, a Triton model, the GStreamer element) does not load ONNX,
ONNX Runtime or the calibration tools.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stmfnet_trt.core.version import __version__

# public name -> module that defines it
_EXPORTS = {
    "StmfnetError": "stmfnet_trt.core.errors",
    "UserError": "stmfnet_trt.core.errors",
    "InputError": "stmfnet_trt.core.errors",
    "ParameterError": "stmfnet_trt.core.errors",
    "CheckpointError": "stmfnet_trt.core.errors",
    "EngineTrustError": "stmfnet_trt.engine.sidecar",
    "QualityGateError": "stmfnet_trt.calibration.quality",
    "Backend": "stmfnet_trt.runtime.backend",
    "BackendSpec": "stmfnet_trt.runtime.backends.specs",
    "TorchSpec": "stmfnet_trt.runtime.backends.specs",
    "OnnxRuntimeSpec": "stmfnet_trt.runtime.backends.specs",
    "TensorRTSpec": "stmfnet_trt.runtime.backends.specs",
    "TritonSpec": "stmfnet_trt.runtime.backends.specs",
    "BlendSpec": "stmfnet_trt.runtime.backends.specs",
    "open_backend": "stmfnet_trt.runtime.backends.specs",
    "auto_spec": "stmfnet_trt.runtime.backends.specs",
    "TileOptions": "stmfnet_trt.runtime.backends.tiling",
    "SchedulerStats": "stmfnet_trt.runtime.scheduling.scheduler",
    "RunSummary": "stmfnet_trt.runtime.scheduling.video",
    "Interpolator": "stmfnet_trt.api.interpolator",
    "BuildSpec": "stmfnet_trt.api.build",
    "BuildResult": "stmfnet_trt.api.build",
    "build_engine": "stmfnet_trt.api.build",
    "ExportOptions": "stmfnet_trt.export.exporter",
    "ExportReport": "stmfnet_trt.export.exporter",
    "export_onnx": "stmfnet_trt.export.exporter",
    "EvalOptions": "stmfnet_trt.evaluation.evaluate",
    "EvalReport": "stmfnet_trt.evaluation.evaluate",
    "evaluate": "stmfnet_trt.evaluation.evaluate",
}

__all__ = [
    "Backend",
    "BackendSpec",
    "BlendSpec",
    "BuildResult",
    "BuildSpec",
    "CheckpointError",
    "EngineTrustError",
    "EvalOptions",
    "EvalReport",
    "ExportOptions",
    "ExportReport",
    "InputError",
    "Interpolator",
    "OnnxRuntimeSpec",
    "ParameterError",
    "QualityGateError",
    "RunSummary",
    "SchedulerStats",
    "StmfnetError",
    "TensorRTSpec",
    "TileOptions",
    "TorchSpec",
    "TritonSpec",
    "UserError",
    "__version__",
    "auto_spec",
    "build_engine",
    "evaluate",
    "export_onnx",
    "open_backend",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'stmfnet_trt' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from stmfnet_trt.api.build import BuildResult, BuildSpec, build_engine
    from stmfnet_trt.api.interpolator import Interpolator
    from stmfnet_trt.calibration.quality import QualityGateError
    from stmfnet_trt.core.errors import CheckpointError, InputError, ParameterError, StmfnetError, UserError
    from stmfnet_trt.engine.sidecar import EngineTrustError
    from stmfnet_trt.evaluation.evaluate import EvalOptions, EvalReport, evaluate
    from stmfnet_trt.export.exporter import ExportOptions, ExportReport, export_onnx
    from stmfnet_trt.runtime.backend import Backend
    from stmfnet_trt.runtime.backends.specs import (
        BackendSpec,
        BlendSpec,
        OnnxRuntimeSpec,
        TensorRTSpec,
        TorchSpec,
        TritonSpec,
        auto_spec,
        open_backend,
    )
    from stmfnet_trt.runtime.backends.tiling import TileOptions
    from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats
    from stmfnet_trt.runtime.scheduling.video import RunSummary
