"""ONNX Runtime backend: an exported graph on the CPU (or CUDA/TensorRT EPs where installed).

No torch on this path. The graph takes frames padded to multiples of 128; this backend pads
(reflect, bottom/right) and crops, per the export contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stmfnet_trt.core.contract import (
    INPUT_NAMES,
    OUTPUT_NAME,
    TensorInfo,
    check_export_contract,
    pad_to_multiple,
)
from stmfnet_trt.core.frames import contiguous_model_values
from stmfnet_trt.export.ort_session import create_session
from stmfnet_trt.runtime.backend import Backend


@dataclass(frozen=True)
class OnnxRuntimeOptions:
    """How to build the ORT backend.

    ``threads`` sets ORT's intra-op threads (None: ORT's default, all cores). ``providers``
    restricts the execution providers, e.g. ("CPUExecutionProvider",). ``force_foreign_onnx``
    runs a file without our export metadata (``export.contract.check_export_contract``).
    """

    model: Path
    threads: int | None = None
    providers: tuple[str, ...] | None = None
    force_foreign_onnx: bool = False


def _tensor_info(node_arg) -> TensorInfo:
    """ONNX Runtime's ``NodeArg`` as the contract check reads it."""
    return TensorInfo(node_arg.name, node_arg.type, tuple(node_arg.shape))


class OnnxRuntimeBackend(Backend):
    """Runs ``frame0..frame3 -> middle`` in an ``InferenceSession``.

    It converts windows itself (``converts_windows``): a uint8 batch is padded in uint8 and each
    input converted once into the contiguous float32 array the session reads.
    """

    name = "onnxruntime"
    converts_windows = True

    def __init__(self, options: OnnxRuntimeOptions) -> None:
        self.session = create_session(options.model, threads=options.threads, providers=options.providers)
        self.providers = tuple(self.session.get_providers())
        check_export_contract(
            str(options.model),
            dict(self.session.get_modelmeta().custom_metadata_map),
            [_tensor_info(t) for t in self.session.get_inputs()],
            [_tensor_info(t) for t in self.session.get_outputs()],
            force=options.force_foreign_onnx,
        )

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        height, width = windows.shape[-2:]
        padded = pad_to_multiple(windows)
        feeds = {name: contiguous_model_values(padded[:, i]) for i, name in enumerate(INPUT_NAMES)}
        (middle,) = self.session.run([OUTPUT_NAME], feeds)
        return middle[:, :, :height, :width]
