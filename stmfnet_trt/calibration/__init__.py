"""FP16 and INT8 versions of an exported model, with the warp kept FP32, and their quality gate.

API (all paths may be ``str`` or ``Path``):

* ``load_calibration_windows(source, count, *, shape, seed=0, detector=None, held_out=4)
  -> CalibrationData``: four-frame windows from a video or frame folder, spread over the clip,
  scene cuts skipped, fitted to the build shape (H, W); ``.calib`` (N, 4, 3, H, W) float32 for
  calibration, ``.held_out`` (M, ...) for the gate only (``windows``).
* ``make_precision_onnx(fp32_onnx, precision, out, *, calib=None, method="max", exclude=(),
  overwrite=False) -> Path``: FP16 (ModelOpt AutoCast) or INT8 (ModelOpt PTQ, explicit Q/DQ
  on convolutions, ``max`` or ``entropy`` calibration) from an FP32 export of either variant;
  the warp and the offset convolutions stay FP32; atomic write, inputs never touched
  (``precision``).
* ``quality_gate(fp32_onnx, low_onnx, held_out, precision, threshold_db=None,
  accept_quality_loss=False) -> QualityReport``: PSNR / max abs vs FP32 in ONNX Runtime (CPU);
  raises ``QualityGateError`` (a ``UserError``) below 45 dB (FP16) / 32 dB (INT8) unless the
  loss is accepted (``quality``).
* ``sensitivity_report(fp32_onnx, data, *, method="max", fine=False) -> SensitivityReport``:
  PSNR when each layer group alone is INT8 (``sensitivity``, ``groups``).
* ``load_exclusions(path) -> tuple[str, ...]``: node-name regexes from a JSON/YAML file
  ``{"exclude": [...]}``, for ``make_precision_onnx(exclude=...)`` (``exclusions``).

How: the warp region is found in the graph (``warp_region``) and cut out (``split``), so that
ModelOpt sees a graph ONNX Runtime runs without our custom op and cannot touch the warp; the
cut-out part's inputs are computed by the full FP32 model (``feeds``); the FP32 warp is put
back afterwards. Needs ``nvidia-modelopt`` (CPU is enough): see docs/precision.md.

Layer 7 (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above ``runtime/scheduling/``
(scene cuts pick the calibration windows), below ``runtime/cuda/`` and ``engine/`` (whose
precision step runs it). Other modules: ``prepare``, ``qdq``, ``tools``.
"""

from stmfnet_trt.calibration.exclusions import load_exclusions
from stmfnet_trt.calibration.precision import make_precision_onnx
from stmfnet_trt.calibration.quality import (
    DEFAULT_THRESHOLDS_DB,
    QualityGateError,
    QualityReport,
    quality_gate,
)
from stmfnet_trt.calibration.sensitivity import SensitivityReport, sensitivity_report
from stmfnet_trt.calibration.windows import CalibrationData, load_calibration_windows

__all__ = [
    "DEFAULT_THRESHOLDS_DB",
    "CalibrationData",
    "QualityGateError",
    "QualityReport",
    "SensitivityReport",
    "load_calibration_windows",
    "load_exclusions",
    "make_precision_onnx",
    "quality_gate",
    "sensitivity_report",
]
