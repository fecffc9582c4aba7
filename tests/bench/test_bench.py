"""The benchmark harness at a tiny size: statistics, schema, report files. No timing assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from stmfnet_trt.bench.measure import Latency, measure, peak_rss_bytes, rss_bytes
from stmfnet_trt.bench.report import table, write_json, write_plot
from stmfnet_trt.bench.suite import BenchOptions, parse_size, run_suite
from stmfnet_trt.cli import main
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.blend import BlendBackend


class FirstFrame(Backend):
    """Returns the first inner frame: a known distance from blending."""

    name = "first"

    def _interpolate(self, windows):
        return windows[:, 1].copy()


class OutOfMemoryAtLargeSizes(BlendBackend):
    def _interpolate(self, windows):
        if windows.shape[-1] > 200:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super()._interpolate(windows)


def test_latency_percentiles():
    latency = Latency.of([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (latency.p50, latency.mean) == (3.0, 3.0)
    assert latency.p90 == pytest.approx(4.6) and latency.p99 == pytest.approx(4.96)
    assert latency.samples == (4.0, 1.0, 3.0, 2.0, 5.0)


def test_measure_counts_frames_and_returns_output():
    windows = np.full((3, 4, 3, 128, 128), 0.5, np.float32)
    result = measure(BlendBackend(), windows, warmup=1, iterations=3)
    assert len(result.latency.samples) == 3 and result.output.shape == (3, 3, 128, 128)
    assert result.frames_per_s == pytest.approx(3 / result.latency.p50)
    assert result.peak_rss_bytes > 10 * 2**20


def test_rss_of_a_process_and_the_peak_of_this_one():
    """bench/cpu.py reads its workers' RSS by pid and each worker its own high-water mark."""
    current = rss_bytes()
    assert current > 10 * 2**20 and rss_bytes(os.getpid()) > 10 * 2**20
    assert peak_rss_bytes() >= current
    code = "import os; print(os.getpid())"
    ended = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert rss_bytes(int(ended.stdout)) == 0  # reaped: no /proc entry left to read


def test_suite_rows_quality_and_skips():
    backends = {"blend": BlendBackend, "first": FirstFrame, "fragile": OutOfMemoryAtLargeSizes}
    record = run_suite(backends, BenchOptions(sizes=("128x128", "128x256"), iterations=2))
    assert [(r.backend, r.size) for r in record.rows] == [
        ("blend", "128x128"),
        ("first", "128x128"),
        ("fragile", "128x128"),
        ("blend", "128x256"),
        ("first", "128x256"),
        ("fragile", "128x256"),
    ]
    assert record.reference == "blend"
    same = record.rows[2]
    assert (
        same.status == "ok" and same.psnr_vs_reference_db == float("inf") and same.max_abs_vs_reference == 0
    )
    differs = record.rows[1]
    assert 0 < differs.max_abs_vs_reference <= 0.5 and np.isfinite(differs.psnr_vs_reference_db)
    assert record.rows[5].status.startswith("skipped: out of memory")
    text = table(record)
    assert "| fragile | 128x256 | 1 | skipped: out of memory" in text and "quality reference: blend" in text


def test_json_and_plot_files(tmp_path):
    record = run_suite(
        {"blend": BlendBackend, "first": FirstFrame}, BenchOptions(sizes=("128x128",), iterations=1)
    )
    write_json(record, tmp_path / "bench.json")
    data = json.loads((tmp_path / "bench.json").read_text())
    assert set(data) == {"reference", "rows", "device", "date", "software", "layer_profiles"}
    assert data["layer_profiles"] == {}  # no --layers
    assert {
        "backend",
        "size",
        "p50_s",
        "p90_s",
        "p99_s",
        "frames_per_s",
        "peak_rss_mb",
        "psnr_vs_reference_db",
        "status",
    } <= set(data["rows"][0])
    write_plot(record, tmp_path / "latency.png")
    assert (tmp_path / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sizes_and_cli(tmp_path, capsys):
    assert parse_size("1080p") == ("1080p", (1080, 1920)) and parse_size("96x160") == ("96x160", (96, 160))
    with pytest.raises(UserError):
        parse_size("huge")
    out = tmp_path / "b.json"
    assert (
        main(["bench", "--backends", "blend", "--sizes", "128x128", "--iterations", "1", "--json", str(out)])
        == 0
    )
    assert "| blend | 128x128 |" in capsys.readouterr().out and out.is_file()
