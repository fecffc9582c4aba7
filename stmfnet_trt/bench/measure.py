"""Timing and memory of one backend on one batch: the numbers a results row is made of."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..runtime.backend import Backend

RSS_SAMPLE_S = 0.01


def _rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 where unavailable)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples RSS on a thread while a block runs; ``peak`` is the highest value seen."""

    def __init__(self) -> None:
        self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_S):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


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
    latency: Latency
    frames_per_s: float
    peak_rss_bytes: int
    output: np.ndarray


def measure(backend: Backend, windows: np.ndarray, warmup: int, iterations: int) -> Measurement:
    """Warm up, then time ``iterations`` calls; throughput counts interpolated frames."""
    with PeakRss() as rss:
        for _ in range(warmup):
            output = backend.interpolate(windows)
        samples = []
        for _ in range(iterations):
            start = time.perf_counter()
            output = backend.interpolate(windows)
            samples.append(time.perf_counter() - start)
    latency = Latency.of(samples)
    return Measurement(latency, len(windows) / latency.p50, rss.peak, output)
