"""``build_engine(onnx, spec)``: an FP32 export to a TensorRT / TensorRT-RTX engine, gated.

The whole chain in one call: the precision step (FP16/INT8 live in the ONNX graph, because
TensorRT builds strongly typed networks: calibrate, convert, gate in ONNX Runtime, cache), the
flavour check, the build in a child process (TensorRT's parser can abort a process), and the
same quality gate on the built engine where it can run (a GPU). ``stmfnet-trt build`` is this
function plus printing.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stmfnet_trt.core.errors import Param, ParameterError, UserError
from stmfnet_trt.core.flavours import DEFAULT_RTX_TARGETS, FLAVOURS
from stmfnet_trt.engine.build import build_engine as build_from_request
from stmfnet_trt.engine.build import equivalent_commands, refuse_cpu_only_graph
from stmfnet_trt.engine.flavours import missing_flavour
from stmfnet_trt.engine.precision_step import (
    DEFAULT_CALIB_SHAPE,
    DEFAULT_HELD_OUT,
    PrecisionOnnx,
    PrecisionSettings,
    copy_onnx,
    gate_shape,
    held_out_windows,
    measurements,
    precision_onnx,
    verdict,
)
from stmfnet_trt.engine.request import DEFAULT_WORKSPACE_MB, BuildRequest, ProfileShapes
from stmfnet_trt.engine.sidecar import sha256_of
from stmfnet_trt.io.sink import check_file_output
from stmfnet_trt.plugins import trt_plugin_library_path
from stmfnet_trt.runtime.backends.tensorrt_backend import TensorRTBackend, TensorRTOptions, check_engine
from stmfnet_trt.runtime.backends.torch_backend import cuda_available

if TYPE_CHECKING:
    from stmfnet_trt.calibration import QualityReport

PRECISIONS = ("fp32", "fp16", "int8")
DEFAULT_SHAPES = "1x128x128:1x640x1152:1x1152x2048"


@dataclass(frozen=True, kw_only=True)
class BuildSpec:
    """What to build. Every field has the CLI's default.

    ``target``: ``tensorrt`` (classic TensorRT: builds for the GPU it runs on) or ``rtx``
    (TensorRT-RTX: builds ahead of time, no GPU needed, for ``rtx_targets`` compute
    capabilities); None picks classic TensorRT where it is installed with a GPU, else RTX.
    ``shapes``: the optimisation profile ``MIN:OPT:MAX``, each ``NxHxW`` (H, W multiples of 128).
    ``precision`` ``fp16``/``int8`` first make a gated low-precision ONNX: ``calib`` (a video or
    frame folder like the footage the engine will see; INT8 needs it) gives ``calib_windows``
    calibration and ``held_out`` gate windows at ``calib_shape``; the gate needs ``min_psnr`` dB
    (None: the precision's default) unless ``accept_quality_loss``. ``exclude``: a JSON/YAML file
    of layer patterns kept in FP32. ``onnx_only``: stop after the gated ONNX (``output`` is then
    an .onnx file). ``plugin``: the AdaptiveWarp plugin library (default: ours, built).
    """

    target: str | None = None
    precision: str = "fp32"
    shapes: str = DEFAULT_SHAPES
    workspace_mb: int = DEFAULT_WORKSPACE_MB
    rtx_targets: tuple[int, ...] = DEFAULT_RTX_TARGETS
    plugin: Path | None = None
    embed_plugin: bool = True
    calib: Path | None = None
    calib_windows: int | None = None
    held_out: int = DEFAULT_HELD_OUT
    calib_shape: tuple[int, int] | None = None
    calib_method: str = "max"
    exclude: Path | None = None
    seed: int = 0
    min_psnr: float | None = None
    accept_quality_loss: bool = False
    onnx_only: bool = False
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ParameterError("precision", f"must be one of {PRECISIONS}, got {self.precision!r}")
        if self.target is not None and self.target not in FLAVOURS:
            raise ParameterError("target", f"must be one of {FLAVOURS}, got {self.target!r}")
        if self.onnx_only and self.precision == "fp32":
            raise ParameterError("onnx_only", "writes an FP16 or INT8 ONNX: pick precision fp16 or int8")


@dataclass(frozen=True)
class BuildResult:
    """What ``build_engine`` made. ``engine`` is None when only the ONNX was asked for
    (``onnx_only``; ``low_precision.path`` copied to ``onnx``)."""

    target: str
    engine: Path | None
    from_cache: bool
    sidecar: dict = field(default_factory=dict)
    low_precision: PrecisionOnnx | None = None
    onnx: Path | None = None
    engine_gate: QualityReport | None = None
    engine_gate_skipped: str | None = None
    commands: tuple[str, ...] = ()


def default_target() -> str:
    """Classic TensorRT where it is installed with a GPU, else TensorRT-RTX (builds without a GPU)."""
    if importlib.util.find_spec("tensorrt") is not None and cuda_available():
        return "tensorrt"
    return "rtx"


def precision_settings(spec: BuildSpec) -> PrecisionSettings:
    """The precision step's settings of a low-precision ``spec``."""
    from stmfnet_trt.calibration import load_exclusions  # onnx: the precision extra, only when used

    _, height, width = ProfileShapes.parse(spec.shapes).opt
    default_shape = (min(height, DEFAULT_CALIB_SHAPE[0]), min(width, DEFAULT_CALIB_SHAPE[1]))
    return PrecisionSettings(
        precision=spec.precision,
        calib=None if spec.calib is None else str(spec.calib),
        windows=spec.calib_windows,
        held_out=spec.held_out,
        shape=spec.calib_shape or default_shape,
        method=spec.calib_method,
        exclude=load_exclusions(spec.exclude) if spec.exclude else (),
        seed=spec.seed,
        threshold_db=spec.min_psnr,
        accept_quality_loss=spec.accept_quality_loss,
    )


def engine_gate(engine: Path, fp32_onnx: Path, settings: PrecisionSettings):
    """The precision step's gate run on the built engine itself, where this machine can run it.

    Returns ``(report, None)``, or ``(None, why not)`` with nothing run when the engine cannot
    run here (no GPU, e.g. a TensorRT-RTX engine built on a CPU server, or a GPU outside its
    targets); the ONNX Runtime gate still stands for the model's numerics then.
    """
    from stmfnet_trt.calibration.quality import compare_outputs, model_outputs  # onnx, as above

    try:
        description = check_engine(engine)
    except UserError as exc:
        return None, str(exc)
    shape = gate_shape(settings.shape, ProfileShapes.parse(description["profiles"][0]))
    _, held_out = held_out_windows(dataclasses.replace(settings, shape=shape))
    reference = model_outputs(fp32_onnx, held_out)
    with TensorRTBackend(TensorRTOptions(engine)) as backend:
        candidate = np.concatenate([backend.interpolate(window[None]) for window in held_out])
    report = compare_outputs(reference, candidate, settings.precision, 0.0)
    return verdict(measurements(report), settings), None


def build_engine(
    onnx: str | Path, spec: BuildSpec = BuildSpec(), output: str | Path | None = None
) -> BuildResult:
    """Build (or fetch from the engine cache) an engine for an FP32 export, with its quality gates.

    ``output`` gets the engine and its ``.json`` sidecar (None: the engine stays in the cache).
    Raises ``QualityGateError`` (with the numbers) when a low-precision model misses the gate,
    ``UserError`` for anything else the caller can fix (missing TensorRT flavour, bad profile...).
    """
    fp32_onnx = Path(onnx).resolve()
    out = None if output is None else Path(output)
    if out is None and spec.onnx_only:
        raise ParameterError("output", "is needed with onnx_only (where the ONNX is copied)")
    if out is not None:
        inputs = [p for p in (onnx, spec.calib, spec.exclude, spec.plugin) if p]
        check_file_output(out, spec.overwrite, inputs=inputs, creates_folder=True)  # before calibration
    if fp32_onnx.is_file():
        refuse_cpu_only_graph(fp32_onnx)
    target = spec.target or default_target()
    onnx_to_build, provenance, settings, made = fp32_onnx, {}, None, None
    if spec.precision != "fp32":
        settings = precision_settings(spec)
        made = precision_onnx(fp32_onnx, settings, progress=spec.progress)
        if spec.onnx_only:
            assert out is not None
            copied = copy_onnx(made.path, out, overwrite=spec.overwrite)
            return BuildResult(target, None, made.from_cache, low_precision=made, onnx=copied)
        onnx_to_build = made.path
        provenance = {
            "source_onnx": str(fp32_onnx),
            "source_onnx_sha256": sha256_of(fp32_onnx),
            "quality_gate_onnxruntime": made.report.summary(),
            "calibration": {
                "source": settings.calib,
                "windows": spec.calib_windows,
                "held_out": spec.held_out,
            },
        }
        reason = missing_flavour(target)
        if reason is not None:
            raise UserError(
                reason,
                f". The {spec.precision} ONNX passed its gate and is kept: {made.path} (",
                Param("onnx_only", True),
                " copies it out; build it on the target machine)",
            )
    request = BuildRequest(
        flavour=target,
        onnx=str(onnx_to_build),
        plugin=str(Path(spec.plugin).resolve() if spec.plugin else trt_plugin_library_path()),
        profiles=[ProfileShapes.parse(spec.shapes)],
        precision=spec.precision,
        workspace_mb=spec.workspace_mb,
        rtx_targets=list(spec.rtx_targets),
        embed_plugin=spec.embed_plugin,
        provenance=provenance,
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    built = build_from_request(request, out, overwrite=spec.overwrite)
    gate, skipped = (None, None) if settings is None else engine_gate(built.engine, fp32_onnx, settings)
    return BuildResult(
        target=target,
        engine=built.engine,
        from_cache=built.from_cache,
        sidecar=built.sidecar,
        low_precision=made,
        engine_gate=gate,
        engine_gate_skipped=skipped,
        commands=tuple(equivalent_commands(request, built.engine if out is None else out)),
    )
