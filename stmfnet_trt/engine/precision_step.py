"""The precision step of ``stmfnet-trt build``: FP32 export -> gated FP16/INT8 ONNX, cached.

TensorRT builds every network strongly typed, so FP16 and INT8 live in the ONNX graph
(``stmfnet_trt.calibration``). This step draws calibration and held-out windows from the user's
footage, converts, runs the quality gate in ONNX Runtime, and keeps model and gate numbers in
the cache. Calibration takes minutes on a CPU, and the engine cache is keyed on the ONNX file's
sha256: reusing the same precision ONNX is what lets a repeated build come from the engine cache.
A model below the gate is cached too, so accepting the loss afterwards does not calibrate again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from stmfnet_trt.core.cache import cache_root
from stmfnet_trt.core.errors import OutputExistsError, Param, ParameterError, UserError
from stmfnet_trt.core.frames import random_frames
from stmfnet_trt.core.hashing import file_sha256
from stmfnet_trt.core.version import __version__
from stmfnet_trt.engine.request import ProfileShapes
from stmfnet_trt.io.atomic import atomic_output_path

LOW_PRECISIONS = ("fp16", "int8")
DEFAULT_HELD_OUT = 4
# Calibration frame size when none is given: INT8 scales do not depend on the frame size, and
# this keeps a CPU calibration to a few minutes while fitting 480p and larger footage.
DEFAULT_CALIB_SHAPE = (384, 640)
# Without --calib, FP16 is gated on smooth random frames; their seed differs from the frames
# AutoCast's magnitude rule sees (seed 0), so the gate windows are unseen.
RANDOM_GATE_SEED = 1


@dataclass(frozen=True)
class PrecisionSettings:
    """What the user asked for; everything here except the verdict knobs changes the model."""

    precision: str
    calib: str | None = None
    windows: int | None = None  # None: load_calibration_windows' default, fewer for a short clip
    held_out: int = DEFAULT_HELD_OUT
    shape: tuple[int, int] = DEFAULT_CALIB_SHAPE
    method: str = "max"
    exclude: tuple[str, ...] = ()
    seed: int = 0
    threshold_db: float | None = field(default=None, compare=False)
    accept_quality_loss: bool = field(default=False, compare=False)

    def check(self) -> None:
        if self.precision not in LOW_PRECISIONS:
            raise ParameterError("precision", f"must be one of {LOW_PRECISIONS}, got {self.precision!r}")
        if self.precision == "int8" and self.calib is None:
            raise UserError(
                "INT8 is calibrated on your own frames: pass ",
                Param("calib", "VIDEO|FRAME_DIR"),
                " (footage like what the engine will process)",
            )
        if self.calib is not None and not Path(self.calib).exists():
            raise UserError(f"calibration source not found: {self.calib}")


@dataclass(frozen=True)
class PrecisionOnnx:
    """The low-precision model, its gate numbers, and whether both came from the cache."""

    path: Path
    report: object  # calibration.QualityReport (imported lazily: ModelOpt and onnx are heavy)
    from_cache: bool


def _source_fingerprint(source: str) -> str:
    """Content of a calibration video, or names, sizes and times of a frame folder's files."""
    path = Path(source)
    if path.is_file():
        return file_sha256(path)
    entries = sorted(
        f"{p.relative_to(path)}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for p in path.rglob("*")
        if p.is_file()
    )
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def _modelopt_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nvidia-modelopt")
    except PackageNotFoundError:
        return "missing"


def cache_key(fp32_onnx: Path, settings: PrecisionSettings) -> str:
    """Everything that changes the converted graph: inputs, settings and the tools' versions."""
    model_fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.compare}
    model_fields["calib"] = None if settings.calib is None else _source_fingerprint(settings.calib)
    identity = {
        "onnx": file_sha256(fp32_onnx),
        "settings": model_fields,
        "stmfnet_trt": __version__,
        "modelopt": _modelopt_version(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


def held_out_windows(settings: PrecisionSettings):
    """(calibration data or None, held-out windows) for ``settings``."""
    from stmfnet_trt.calibration import load_calibration_windows

    if settings.calib is None:
        windows = random_frames((settings.held_out, 4, 3, *settings.shape), seed=RANDOM_GATE_SEED)
        return None, windows
    data = load_calibration_windows(
        settings.calib, settings.windows, shape=settings.shape, seed=settings.seed, held_out=settings.held_out
    )
    return data, data.held_out


def measurements(report) -> dict:
    """A report's measurements, without the verdict knobs of the run that made it."""
    return {k: v for k, v in dataclasses.asdict(report).items() if k not in ("threshold_db", "accepted_loss")}


def verdict(report_fields: dict, settings: PrecisionSettings):
    """The cached numbers judged against this run's threshold; raise below it unless accepted."""
    from stmfnet_trt.calibration import DEFAULT_THRESHOLDS_DB, QualityGateError, QualityReport

    threshold = (
        DEFAULT_THRESHOLDS_DB[settings.precision] if settings.threshold_db is None else settings.threshold_db
    )
    report = QualityReport(
        **{**report_fields, "threshold_db": threshold, "accepted_loss": settings.accept_quality_loss}
    )
    if not report.passed and not settings.accept_quality_loss:
        raise QualityGateError(report)
    return report


def precision_onnx(fp32_onnx: Path, settings: PrecisionSettings, *, progress: bool = True) -> PrecisionOnnx:
    """The gated FP16/INT8 version of ``fp32_onnx`` (from the cache when made before).

    Raises ``QualityGateError`` (a UserError, with the numbers) when the model is below the
    threshold and the loss was not accepted; the model stays cached either way.
    """
    settings.check()
    if not fp32_onnx.is_file():
        raise UserError(f"ONNX model not found: {fp32_onnx}")
    folder = cache_root() / "onnx" / "precision"
    key = cache_key(fp32_onnx, settings)
    model, numbers = folder / f"{key}-{settings.precision}.onnx", folder / f"{key}-{settings.precision}.json"
    from_cache = model.is_file() and numbers.is_file()
    if not from_cache:
        from stmfnet_trt.calibration import make_precision_onnx, quality_gate

        data, held_out = held_out_windows(settings)
        if progress:
            source = settings.calib or "smooth random frames"
            print(
                f"making the {settings.precision} model from {fp32_onnx.name}: "
                f"{0 if data is None else len(data.calib)} calibration + {len(held_out)} held-out windows "
                f"of {source} at {settings.shape[0]}x{settings.shape[1]} (minutes on a CPU)",
                flush=True,
            )
        folder.mkdir(parents=True, exist_ok=True)
        make_precision_onnx(
            fp32_onnx,
            settings.precision,
            model,
            calib=data,
            method=settings.method,
            exclude=settings.exclude,
            overwrite=True,
        )
        report = quality_gate(fp32_onnx, model, held_out, settings.precision, accept_quality_loss=True)
        with atomic_output_path(numbers, overwrite=True) as temp:
            temp.write_text(json.dumps(measurements(report), indent=2) + "\n")
    return PrecisionOnnx(model, verdict(json.loads(numbers.read_text()), settings), from_cache)


def copy_onnx(source: Path, output: Path, *, overwrite: bool) -> Path:
    """Copy a precision ONNX to where the user asked (``onnx_only``), atomically."""
    if output.suffix != ".onnx":
        raise ParameterError("output", f"of onnx_only is an ONNX file: {output} must end in .onnx")
    if output.exists() and not overwrite:
        raise OutputExistsError(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output_path(output, overwrite=True) as temp:
        shutil.copyfile(source, temp)
    return output


def gate_shape(shape: tuple[int, int], profile: ProfileShapes) -> tuple[int, int]:
    """The calibration frame size moved into the engine's profile, so the gate can run the engine.

    The ONNX gate runs at the calibration size whatever the profile; the engine accepts only
    (padded) sizes inside its profile, and TensorRT answers any other with a False that used to
    be ignored.
    """
    (_, low_h, low_w), (_, high_h, high_w) = profile.min, profile.max
    return min(max(shape[0], low_h), high_h), min(max(shape[1], low_w), high_w)
