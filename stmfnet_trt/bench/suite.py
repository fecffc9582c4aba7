"""Runs the benchmark grid: every backend at every resolution, compared with a reference backend.

Backends are built once and reused across sizes; a size a backend cannot hold in memory is
recorded as skipped with the reason instead of ending the run.
"""

from __future__ import annotations

import datetime
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from stmfnet_trt.bench.device_memory import gpu_name
from stmfnet_trt.bench.measure import measure
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.frames import random_frames
from stmfnet_trt.core.version import __version__
from stmfnet_trt.export.parity import Difference
from stmfnet_trt.runtime.backend import Backend

SIZES = {
    "256": (256, 256),
    "540p": (540, 960),
    "720p": (720, 1280),
    "1080p": (1080, 1920),
    "4k": (2160, 3840),
}


def parse_size(text: str) -> tuple[str, tuple[int, int]]:
    """A named size (256, 540p, 720p, 1080p, 4k) or HxW."""
    key = text.lower()
    if key in SIZES:
        return key, SIZES[key]
    try:
        height, width = (int(v) for v in key.split("x"))
    except ValueError as exc:
        raise UserError(f"size must be one of {', '.join(SIZES)} or HxW; got {text!r}") from exc
    return key, (height, width)


@dataclass(frozen=True)
class BenchOptions:
    sizes: tuple[str, ...] = ("256",)
    batch: int = 1
    warmup: int = 1
    iterations: int = 5
    seed: int = 0


@dataclass
class Row:
    """One backend at one size; ``status`` is "ok" or why it was skipped.

    ``peak_device_mb`` is the most GPU memory in use during the row (the whole device, as the
    driver counts it) and ``extra_device_mb`` how much of it the row added to what was in use at its
    start; both None on CPU-only runs and in JSON written before they existed.
    """

    backend: str
    size: str
    height: int
    width: int
    batch: int
    status: str = "ok"
    p50_s: float | None = None
    p90_s: float | None = None
    p99_s: float | None = None
    frames_per_s: float | None = None
    peak_rss_mb: float | None = None
    peak_device_mb: float | None = None
    extra_device_mb: float | None = None
    psnr_vs_reference_db: float | None = None
    max_abs_vs_reference: float | None = None


@dataclass
class BenchRecord:
    reference: str
    rows: list[Row] = field(default_factory=list)
    device: str = field(default_factory=lambda: f"CPU {platform.machine()}")
    date: str = field(default_factory=lambda: datetime.date.today().isoformat())
    software: dict[str, str] = field(default_factory=dict)
    # "ENGINE@SIZE" -> per-layer times (bench --layers), largest first
    layer_profiles: dict[str, list[dict]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _software() -> dict[str, str]:
    import onnxruntime

    versions = {
        "stmfnet_trt": __version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    try:
        import torch
    except ImportError:
        return versions
    versions["torch"] = torch.__version__
    return versions


def _mb(nbytes: int | None) -> float | None:
    return None if nbytes is None else nbytes / 2**20


OUT_OF_MEMORY_WORDS = ("out of memory", "bad allocation", "bad_alloc", "failed to allocate")


def _out_of_memory(exc: BaseException) -> bool:
    """MemoryError, or the allocation failures torch, ORT and CUDA report as RuntimeErrors."""
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or any(word in text for word in OUT_OF_MEMORY_WORDS)


def run_suite(
    backends: dict[str, Callable[[], Backend]], options: BenchOptions, windows_for=None
) -> BenchRecord:
    """Time every backend (the first is the quality reference) at every size in ``options``."""

    labels = list(backends)
    record = BenchRecord(reference=labels[0], software=_software())
    built: dict[str, Backend] = {}
    try:
        for size_name in options.sizes:
            name, (height, width) = parse_size(size_name)
            windows = (windows_for or (lambda shape: random_frames(shape, options.seed)))(
                (options.batch, 4, 3, height, width)
            )
            reference_output = None
            for label in labels:
                row = Row(label, name, height, width, options.batch)
                record.rows.append(row)
                try:
                    backend = built.get(label) or built.setdefault(label, backends[label]())
                    result = measure(backend, windows, options.warmup, options.iterations)
                except Exception as exc:  # a size that does not fit must not end the whole run
                    if not _out_of_memory(exc):
                        raise
                    row.status = f"skipped: out of memory ({type(exc).__name__})"
                    continue
                row.p50_s, row.p90_s, row.p99_s = result.latency.p50, result.latency.p90, result.latency.p99
                row.frames_per_s = result.frames_per_s
                row.peak_rss_mb = result.peak_rss_bytes / 2**20
                row.peak_device_mb = _mb(result.peak_device_bytes)
                row.extra_device_mb = _mb(result.extra_device_bytes)
                if label == labels[0]:
                    reference_output = np.clip(result.output, 0, 1)
                elif reference_output is not None:
                    difference = Difference.between(reference_output, np.clip(result.output, 0, 1))
                    row.psnr_vs_reference_db = difference.psnr_db
                    row.max_abs_vs_reference = difference.max_abs
        gpu = gpu_name()
        if gpu is not None:  # read while the backends still hold their CUDA context
            record.device = f"{record.device}, GPU {gpu}"
    finally:
        for backend in built.values():
            backend.close()
    return record
