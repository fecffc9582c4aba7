"""The two NVIDIA ModelOpt passes, configured for a core graph (``split.split_core``).

* FP16: ModelOpt AutoCast (``convert_to_mixed_precision``) with the given nodes kept FP32, graph
  I/O kept FP32 and its magnitude rule (nodes whose values exceed ``data_max`` stay FP32)
  measured on real windows.
* INT8: ModelOpt ONNX PTQ (``quantize``): explicit Q/DQ around convolutions only, per-channel
  weights, calibrated in ONNX Runtime on the CPU with our reader.

ModelOpt 0.47 runs both on the CPU without its ``[onnx]`` extra (that extra pulls
onnxruntime-gpu and cupy); docs/precision.md lists what to install. Both passes write temporary
files next to their input (and PTQ may rewrite its input), so callers hand them a core saved in
a private temporary folder, never a user's file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import onnx
from onnxruntime.quantization import CalibrationDataReader

from stmfnet_trt.core.errors import UserError

CALIBRATION_METHODS = ("max", "entropy")
QUANTIZED_OP_TYPES = ("Conv", "ConvTranspose")
LOG_LEVEL = "ERROR"  # ModelOpt's INFO lines are per node; its failures raise anyway


def _exact(names: Sequence[str]) -> list[str]:
    """ModelOpt takes node-name regexes; ours are resolved names, matched exactly."""
    return [f"^{re.escape(name)}$" for name in names]


def check_method(method: str) -> None:
    """Refuse an unknown INT8 calibration method before any work is done."""
    if method not in CALIBRATION_METHODS:
        raise UserError(
            f"calibration method must be one of {CALIBRATION_METHODS}, got {method!r} (ModelOpt 0.47's INT8 "
            "PTQ offers no percentile calibration)"
        )


class _NoGpuIsExpected(logging.Filter):
    """Drop ModelOpt's ERROR line about a missing NVML: calibrating on a CPU machine is the plan.

    Its INT8 calibrator probes the GPU count through NVML and logs the absent driver as an error
    before going on correctly on the CPU; users read that line as a failed build.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "Failed to get GPU count" not in record.getMessage()


def _require_modelopt() -> None:
    try:
        import modelopt.onnx  # noqa: F401
    except ImportError as exc:
        raise UserError(
            "FP16/INT8 builds need NVIDIA ModelOpt (its GPU extra is not needed): pip install "
            "'nvidia-modelopt==0.47.*' onnx-graphsurgeon lief onnxscript (see docs/precision.md)"
        ) from exc


def autocast_fp16(core: Path, keep_fp32: Sequence[str], reference: Path) -> onnx.ModelProto:
    """Mixed FP16/FP32 core; ``reference`` is a folder of .npz feeds for the magnitude rule."""
    _require_modelopt()
    from modelopt.onnx.autocast import convert_to_mixed_precision
    from modelopt.onnx.logging_config import configure_logging

    configure_logging(LOG_LEVEL)
    return convert_to_mixed_precision(
        str(core),
        low_precision_type="fp16",
        nodes_to_exclude=_exact(keep_fp32),
        keep_io_types=True,
        calibration_data=str(reference),
        providers=["cpu"],
    )


def quantize_int8(
    core: Path, reader: CalibrationDataReader, method: str, keep_fp32: Sequence[str], output: Path
) -> onnx.ModelProto:
    """INT8 Q/DQ core, calibrated by ``method`` on the windows ``reader`` yields."""
    check_method(method)
    _require_modelopt()
    from modelopt.onnx.logging_config import logger
    from modelopt.onnx.quantization import quantize

    if not any(isinstance(f, _NoGpuIsExpected) for f in logger.filters):
        logger.addFilter(_NoGpuIsExpected())
    quantize(
        str(core),
        quantize_mode="int8",
        calibration_data_reader=reader,
        calibration_method=method,
        calibration_eps=["cpu"],
        op_types_to_quantize=list(QUANTIZED_OP_TYPES),
        nodes_to_exclude=_exact(keep_fp32),
        high_precision_dtype="fp32",
        output_path=str(output),
        log_level=LOG_LEVEL,
        # The GEMV check would run the graph once more just to skip tiny MatMuls; we quantize convs only.
        enable_gemv_detection_for_trt=False,
    )
    return onnx.load(str(output))
