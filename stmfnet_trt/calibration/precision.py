"""FP32 export -> FP16 or INT8 ONNX, with the warp kept FP32: ``make_precision_onnx``.

Steps: prepare the core (``prepare``: warp region found and cut out), convert it with ModelOpt
(``tools``), put the region back, stamp what was done into the metadata, check, write
atomically. Everything temporary lives in a private folder; the input file is only read.

What stays FP32 (or unquantized) always: the warp region, and the output convolutions of the
offset heads (Alpha/Beta: they become sampling positions). FP16 also keeps the tap-logit
convolutions (Weight heads) FP32: they feed the warp's softmax, whose inputs are FP32 anyway.
``exclude`` patterns add to this.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx

from stmfnet_trt.calibration.exclusions import resolve_exclusions
from stmfnet_trt.calibration.prepare import META_PRECISION, PreparedCore, prepared_core
from stmfnet_trt.calibration.tools import autocast_fp16, check_method, quantize_int8
from stmfnet_trt.calibration.windows import CalibrationData
from stmfnet_trt.core.contract import META_OPSET
from stmfnet_trt.core.errors import OutputExistsError, UserError
from stmfnet_trt.core.frames import random_frames
from stmfnet_trt.io.atomic import atomic_output_path

PRECISIONS = ("fp16", "int8")
META_PRECISION_CONFIG = META_PRECISION + "_config"
# AutoCast's magnitude rule needs a few representative windows, not all of them.
FP16_REFERENCE_WINDOWS = 4
# Without user frames, FP16's magnitude rule looks at smooth random frames of this shape.
FP16_PROXY_SHAPE = (128, 128)


def _reference_feeds(prepared: PreparedCore, windows: np.ndarray) -> Path:
    """The core's inputs for a few windows as .npz files: AutoCast's reference data."""
    folder = prepared.work / "reference"
    folder.mkdir()
    for index, window in enumerate(windows[:FP16_REFERENCE_WINDOWS]):
        np.savez(folder / f"window{index}.npz", **prepared.runner(window, prepared.region.outputs))
    return folder


def _set_metadata(model: onnx.ModelProto, values: dict[str, str]) -> None:
    """Set metadata entries, replacing any with the same keys."""
    kept = [p for p in model.metadata_props if p.key not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in values.items():
        model.metadata_props.add(key=key, value=value)


def _convert(
    prepared: PreparedCore, precision: str, windows: np.ndarray, method: str, user_fp32: list[str]
) -> tuple[onnx.ModelProto, list[str]]:
    """The converted core and the convolutions kept FP32 by name."""
    region = prepared.region
    if precision == "fp16":
        keep = [*region.offset_convs, *region.weight_convs, *user_fp32]
        return autocast_fp16(prepared.path, keep, _reference_feeds(prepared, windows)), keep
    keep = [*region.offset_convs, *user_fp32]
    output = prepared.work / "core_int8.onnx"
    return quantize_int8(prepared.path, prepared.feeds(windows), method, keep, output), keep


def make_precision_onnx(
    fp32_onnx: str | os.PathLike[str],
    precision: str,
    out: str | os.PathLike[str],
    *,
    calib: CalibrationData | None = None,
    method: str = "max",
    exclude: Sequence[str] = (),
    overwrite: bool = False,
) -> Path:
    """Write an FP16 or INT8 version of an FP32 export (either variant) to ``out``.

    ``calib`` is required for INT8 (its ``calib`` windows are the calibration set; its
    ``held_out`` windows are left for ``quality_gate``); for FP16 it is optional and feeds
    AutoCast's magnitude rule. ``method``: INT8 calibration, ``max`` or ``entropy``.
    ``exclude``: node-name regexes kept FP32 in addition to the defaults (``exclusions``).
    Returns the written path; on any failure nothing is written.
    """
    if precision not in PRECISIONS:
        raise UserError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "int8":
        check_method(method)
        if calib is None or len(calib.calib) == 0:
            raise UserError("INT8 needs calibration windows (CalibrationData from load_calibration_windows)")
    out = Path(out)
    if out.suffix != ".onnx":
        raise UserError(f"output must end in .onnx: {out}")
    if out.exists() and not overwrite:
        raise OutputExistsError(out)
    windows = random_frames((2, 4, 3, *FP16_PROXY_SHAPE), seed=0) if calib is None else calib.calib
    with prepared_core(Path(fp32_onnx), windows) as prepared:
        user_fp32 = resolve_exclusions(prepared.core, exclude)
        converted, keep = _convert(prepared, precision, windows, method, user_fp32)
        full = prepared.rejoin(converted)
        region_size = len(prepared.region.nodes)
    settings = {
        "exclude": list(exclude),
        "fp32_convs": keep,
        "warp_nodes_fp32": region_size,
        "windows": len(windows),
        "shape": list(windows.shape[-2:]),
        "frames": "smooth random" if calib is None else Path(calib.source).name or "given arrays",
        **({"method": method} if precision == "int8" else {}),
    }
    # INT8 raises the opset (ModelOpt writes opset 19 Q/DQ): keep the exporter's record truthful.
    opset = next(o.version for o in full.opset_import if o.domain in ("", "ai.onnx"))
    _set_metadata(
        full,
        {
            META_PRECISION: precision,
            META_PRECISION_CONFIG: json.dumps(settings, sort_keys=True),
            META_OPSET: str(opset),
        },
    )
    from stmfnet_trt.export.op_schemas import register_op_schemas

    register_op_schemas()
    onnx.checker.check_model(full)
    with atomic_output_path(out, overwrite=overwrite) as temp:
        onnx.save_model(full, str(temp))
    return out
