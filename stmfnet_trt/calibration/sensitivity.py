"""Per-layer-group INT8 sensitivity: the PSNR left when one group alone is quantized.

One calibration quantizes every convolution ModelOpt accepts, the offset heads included (to
show why they are excluded by default). Then, per group (``groups``), a model keeping Q/DQ on
that group only (``qdq.keep_quantized``) runs on the held-out windows against FP32. A group
whose row is far below the others is the one to exclude (``exclusions``); the row "default
INT8" is what ``make_precision_onnx`` builds without exclusions.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import onnx

from stmfnet_trt.calibration.groups import layer_group
from stmfnet_trt.calibration.prepare import PreparedCore, prepared_core
from stmfnet_trt.calibration.qdq import keep_quantized, quantized_inputs
from stmfnet_trt.calibration.quality import model_outputs
from stmfnet_trt.calibration.tools import check_method, quantize_int8
from stmfnet_trt.calibration.windows import CalibrationData
from stmfnet_trt.export.parity import Difference

ALL_DEFAULT = "default INT8 (all but offset heads)"
ALL = "everything quantized"


@dataclass(frozen=True)
class GroupSensitivity:
    """One row: ``convs`` quantized convolutions of ``group`` vs FP32 on the held-out windows."""

    group: str
    convs: int
    psnr_db: float
    max_abs: float
    mean_abs: float


@dataclass(frozen=True)
class SensitivityReport:
    """Rows sorted from most to least harmful, then the two whole-model rows."""

    rows: tuple[GroupSensitivity, ...]
    method: str
    calibration_windows: int
    held_out_windows: int
    shape: tuple[int, int]

    def render(self) -> str:
        """A plain-text table for terminals and logs."""
        width = max(len(r.group) for r in self.rows)
        lines = [
            f"INT8 sensitivity ({self.method} calibration on {self.calibration_windows} window(s), "
            f"measured on {self.held_out_windows} held-out window(s) at {self.shape[1]}x{self.shape[0]})",
            f"{'group':<{width}}  convs  PSNR vs FP32   max abs",
        ]
        lines += [
            f"{r.group:<{width}}  {r.convs:5d}  {r.psnr_db:9.2f} dB  {r.max_abs:8.4f}" for r in self.rows
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)


def _row(
    prepared: PreparedCore,
    quantized: onnx.ModelProto,
    names: list[str],
    label: str,
    data: CalibrationData,
    reference,
) -> GroupSensitivity:
    path = prepared.work / "group.onnx"
    onnx.save_model(prepared.rejoin(keep_quantized(quantized, prepared.core, names)), str(path))
    difference = Difference.between(reference, model_outputs(path, data.held_out))
    return GroupSensitivity(label, len(names), difference.psnr_db, difference.max_abs, difference.mean_abs)


def sensitivity_report(
    fp32_onnx: str | os.PathLike[str], data: CalibrationData, *, method: str = "max", fine: bool = False
) -> SensitivityReport:
    """Calibrate on ``data.calib``, measure each group alone on ``data.held_out``."""
    check_method(method)
    reference = model_outputs(fp32_onnx, data.held_out)
    with prepared_core(Path(fp32_onnx), data.calib) as prepared:
        output = prepared.work / "core_int8.onnx"
        quantized = quantize_int8(prepared.path, prepared.feeds(data.calib), method, [], output)
        names = list(quantized_inputs(quantized))
        groups: dict[str, list[str]] = {}
        for name in names:
            groups.setdefault(layer_group(name, prepared.region, fine), []).append(name)
        rows = sorted(
            (_row(prepared, quantized, members, label, data, reference) for label, members in groups.items()),
            key=lambda row: row.psnr_db,
        )
        default = [n for n in names if n not in prepared.region.offset_convs]
        rows += [
            _row(prepared, quantized, default, ALL_DEFAULT, data, reference),
            _row(prepared, quantized, names, ALL, data, reference),
        ]
    return SensitivityReport(tuple(rows), method, len(data.calib), len(data.held_out), data.shape)
