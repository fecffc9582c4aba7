"""Timing and memory of one backend on one batch: the numbers a results row is made of."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stmfnet_trt.bench.device_memory import (
    cuda_context_exists,
    device_memory_in_use,
    release_cached_device_memory,
)
from stmfnet_trt.runtime.backend import Backend

SAMPLE_S = 0.01


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of process ``pid`` (None: this one), from Linux /proc; 0 where unavailable."""
    try:
        pages = int(Path(f"/proc/{pid or 'self'}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """This process's RSS high-water mark (VmHWM, Linux): the peak of a whole process.

    Not ``ru_maxrss``: Linux carries that over fork and exec, so a worker process would report its
    parent's peak (the parent may have exported a model).
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status: peak RSS needs Linux")


class PeakMemory:
    """Samples host RSS and GPU memory on one thread while a block runs.

    ``peak_rss`` is the highest RSS seen. On a GPU, ``device_peak`` is the highest device memory in
    use (total - free, see ``device_memory``) and ``device_extra`` that minus its value at entry:
    what the block needed on top of what was already held (weights, TensorRT execution contexts,
    backends built for earlier rows). Both are None where the process holds no CUDA context, so a
    CPU-only run does not create one just to read it. A sample is taken at entry and exit as well
    as every ``SAMPLE_S``; torch's caching allocator keeps what it reserved until the block ends,
    so its peak is always seen, while a short-lived cudaMalloc between two samples can be missed.
    """

    def __init__(self) -> None:
        self.peak_rss = rss_bytes()
        self.device_at_entry = device_memory_in_use() if cuda_context_exists() else None
        self.device_peak = self.device_at_entry
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    @property
    def device_extra(self) -> int | None:
        if self.device_peak is None or self.device_at_entry is None:
            return None
        return self.device_peak - self.device_at_entry

    def _sample(self) -> None:
        self.peak_rss = max(self.peak_rss, rss_bytes())
        if self.device_peak is not None:
            self.device_peak = max(self.device_peak, device_memory_in_use() or 0)

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


@dataclass(frozen=True)
class Latency:
    """Seconds per call: percentiles over the timed iterations (after warm-up)."""

    p50: float
    p90: float
    p99: float
    mean: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: list[float]) -> Latency:
        ordered = sorted(samples)

        def percentile(q: float) -> float:
            return float(np.percentile(ordered, q, method="linear"))

        return cls(percentile(50), percentile(90), percentile(99), statistics.fmean(ordered), tuple(samples))


@dataclass(frozen=True)
class Measurement:
    """One row's numbers; the device figures are None without a CUDA context (see ``PeakMemory``)."""

    latency: Latency
    frames_per_s: float
    peak_rss_bytes: int
    peak_device_bytes: int | None
    extra_device_bytes: int | None
    output: np.ndarray


def measure(backend: Backend, windows: np.ndarray, warmup: int, iterations: int) -> Measurement:
    """Warm up, then time ``iterations`` calls; throughput counts interpolated frames.

    torch's cache is emptied first so that memory earlier rows left reserved is neither charged to
    this row nor hides its growth. Warm-up runs inside the sampled block, so the first GPU row of a
    backend also carries its one-time costs (cuDNN/cuBLAS handles, lazily loaded kernels: a few
    hundred MB for torch).
    """
    release_cached_device_memory()
    with PeakMemory() as memory:
        for _ in range(warmup):
            output = backend.interpolate(windows)
        samples = []
        for _ in range(iterations):
            start = time.perf_counter()
            output = backend.interpolate(windows)
            samples.append(time.perf_counter() - start)
    latency = Latency.of(samples)
    return Measurement(
        latency,
        len(windows) / latency.p50,
        memory.peak_rss,
        memory.device_peak,
        memory.device_extra,
        output,
    )
