"""Peak device memory in the bench: the sources, the sampler, the row, table, JSON and RESULTS render.

No GPU here: fakes of cuda-python's runtime and driver (and of an initialised torch.cuda) stand in
for one, with free memory the tests move while a row runs.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from stmfnet_trt.bench import device_memory
from stmfnet_trt.bench.device_memory import cuda_context_exists, device_memory_in_use
from stmfnet_trt.bench.measure import PeakMemory, measure
from stmfnet_trt.bench.report import table, write_json
from stmfnet_trt.bench.suite import BenchOptions, run_suite
from stmfnet_trt.runtime.backends.blend import BlendBackend

MiB = 2**20
REPO = Path(__file__).resolve().parents[2]


class FakeCudart:
    """cuda-python's runtime as far as cudaMemGetInfo goes: a 1 GiB GPU with ``in_use`` bytes taken."""

    class cudaError_t:  # cuda-python's name
        cudaSuccess = 0
        cudaErrorNoDevice = 100

    def __init__(self, in_use: int = 100 * MiB, status: int = 0) -> None:
        self.total = 1024 * MiB
        self.in_use = in_use
        self.status = status
        self.calls = 0

    def cudaMemGetInfo(self) -> tuple:
        self.calls += 1
        if self.status:
            return (self.status, None, None)
        return (self.cudaError_t.cudaSuccess, self.total - self.in_use, self.total)

    def cudaGetDeviceProperties(self, device: int) -> tuple:
        return (self.cudaError_t.cudaSuccess, types.SimpleNamespace(name=b"Fake GPU 1GB\x00\x00"))


class FakeDriver:
    """cuda-python's driver API: whether the primary context is active, or no driver at all."""

    class CUresult:
        CUDA_SUCCESS = 0

    def __init__(self, context_active: bool = True, driver_found: bool = True) -> None:
        self.context_active = context_active
        self.driver_found = driver_found

    def cuInit(self, flags: int) -> tuple:
        if not self.driver_found:
            raise RuntimeError('"cuda" is an NVIDIA driver library and can only be found via system search')
        return (self.CUresult.CUDA_SUCCESS,)

    def cuDevicePrimaryCtxGetState(self, device: int) -> tuple:
        return (self.CUresult.CUDA_SUCCESS, 0, int(self.context_active))


class FakeTorchCuda:
    """An initialised ``torch.cuda`` on the same fake GPU, whose cache ``empty_cache`` hands back."""

    def __init__(self, gpu: FakeCudart, cached: int = 0, initialised: bool = True) -> None:
        self.gpu = gpu
        self.cached = cached
        self.initialised = initialised
        gpu.in_use += cached

    def is_available(self) -> bool:
        return True

    def is_initialized(self) -> bool:
        return self.initialised

    def mem_get_info(self, device: int) -> tuple[int, int]:
        _, free, total = self.gpu.cudaMemGetInfo()
        return free, total

    def empty_cache(self) -> None:
        self.gpu.in_use -= self.cached
        self.cached = 0


def install(monkeypatch, runtime: FakeCudart, driver: FakeDriver) -> None:
    """Make ``from cuda.bindings import runtime, driver`` return the fakes."""
    bindings = types.ModuleType("cuda.bindings")
    bindings.runtime, bindings.driver = runtime, driver
    monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)


def install_torch(monkeypatch, torch_cuda: FakeTorchCuda) -> None:
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=torch_cuda))


@pytest.fixture
def gpu(monkeypatch) -> FakeCudart:
    """A fake GPU whose process already holds a CUDA context (a GPU backend was built)."""
    fake = FakeCudart()
    install(monkeypatch, fake, FakeDriver())
    return fake


class AllocatingBackend(BlendBackend):
    """Keeps 256 MiB from its first call on (like a cache) and holds 64 MiB more during every call.

    The 64 MiB are given back only after the sampler has read the GPU twice, so the test does not
    depend on thread timing, only on the sampler polling.
    """

    def __init__(self, gpu: FakeCudart) -> None:
        self.gpu = gpu
        self.kept = False

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        if not self.kept:
            self.gpu.in_use += 256 * MiB
            self.kept = True
        self.gpu.in_use += 64 * MiB
        seen, deadline = self.gpu.calls, time.monotonic() + 5
        while self.gpu.calls < seen + 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        self.gpu.in_use -= 64 * MiB
        return super()._interpolate(windows)


WINDOWS = np.full((1, 4, 3, 128, 128), 0.5, np.float32)


@pytest.mark.skipif(Path("/dev/nvidiactl").exists(), reason="this machine has an NVIDIA GPU")
def test_no_gpu_reads_none():
    assert device_memory_in_use() is None and not cuda_context_exists()


def test_cuda_errors_read_as_no_gpu(monkeypatch):
    install(
        monkeypatch, FakeCudart(status=FakeCudart.cudaError_t.cudaErrorNoDevice), FakeDriver(False, False)
    )
    assert device_memory_in_use() is None and not cuda_context_exists()


def test_cudart_reads_total_minus_free(gpu):
    assert device_memory_in_use() == 100 * MiB and cuda_context_exists()


def test_torch_is_asked_only_once_it_initialised_cuda(monkeypatch, gpu):
    torch_cuda = FakeTorchCuda(FakeCudart(in_use=700 * MiB), initialised=False)
    install_torch(monkeypatch, torch_cuda)
    assert device_memory_in_use() == 100 * MiB  # cudart's figure
    torch_cuda.initialised = True
    assert device_memory_in_use() == 700 * MiB


def test_sampler_reports_peak_and_extra(gpu):
    backend = AllocatingBackend(gpu)
    with PeakMemory() as memory:
        backend.interpolate(WINDOWS)
        backend.interpolate(WINDOWS)
    assert memory.device_at_entry == 100 * MiB
    assert memory.device_peak == (100 + 256 + 64) * MiB
    assert memory.device_extra == (256 + 64) * MiB


def test_sampler_does_not_create_a_cuda_context(monkeypatch):
    runtime = FakeCudart()
    install(monkeypatch, runtime, FakeDriver(context_active=False))
    with PeakMemory() as memory:
        BlendBackend().interpolate(WINDOWS)
    assert (memory.device_peak, memory.device_extra, runtime.calls) == (None, None, 0)
    assert memory.peak_rss > 0


def test_measure_empties_torch_cache_before_the_row(monkeypatch, gpu):
    torch_cuda = FakeTorchCuda(gpu, cached=500 * MiB)
    install_torch(monkeypatch, torch_cuda)
    result = measure(AllocatingBackend(gpu), WINDOWS, warmup=1, iterations=2)
    assert torch_cuda.cached == 0
    assert result.peak_device_bytes == (100 + 256 + 64) * MiB
    assert result.extra_device_bytes == (256 + 64) * MiB


def test_rows_table_and_json_carry_device_memory(monkeypatch, tmp_path, gpu):
    backends = {"blend": BlendBackend, "allocating": lambda: AllocatingBackend(gpu)}
    record = run_suite(backends, BenchOptions(sizes=("128x128",), iterations=2))
    row = record.rows[1]
    assert (row.peak_device_mb, row.extra_device_mb) == (420, 320)
    assert record.device == f"CPU {platform.machine()}, GPU Fake GPU 1GB"  # the GPU the rows ran on
    text = table(record)
    assert "device memory MB, peak (+row)" in text and "| 420 (+320) |" in text
    write_json(record, tmp_path / "bench.json")
    written = json.loads((tmp_path / "bench.json").read_text())["rows"][1]
    assert (written["peak_device_mb"], written["extra_device_mb"]) == (420, 320)


def test_cpu_rows_show_n_a(monkeypatch):
    install(
        monkeypatch, FakeCudart(status=FakeCudart.cudaError_t.cudaErrorNoDevice), FakeDriver(False, False)
    )
    record = run_suite({"blend": BlendBackend}, BenchOptions(sizes=("128x128",), iterations=1))
    assert record.rows[0].peak_device_mb is None
    assert record.device == f"CPU {platform.machine()}"
    assert "| n/a |" in table(record)


def _render_results():
    spec = importlib.util.spec_from_file_location("render_results", REPO / "bench" / "render_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_render_results_shows_the_column_and_renders_old_json(tmp_path, gpu):
    record = run_suite({"allocating": lambda: AllocatingBackend(gpu)}, BenchOptions(sizes=("128x128",)))
    write_json(record, tmp_path / "bench-gpu.json")
    old = json.loads((tmp_path / "bench-gpu.json").read_text())
    for row in old["rows"]:
        del row["peak_device_mb"], row["extra_device_mb"]
    (tmp_path / "bench-old.json").write_text(json.dumps(old))
    render_file = _render_results().render_file
    assert "| 420 (+320) |" in "\n".join(render_file(tmp_path / "bench-gpu.json"))
    old_text = "\n".join(render_file(tmp_path / "bench-old.json"))
    assert "device memory MB, peak (+row)" in old_text and "| n/a |" in old_text
    committed = "\n".join(render_file(REPO / "bench" / "results" / "bench-cpu.json"))
    assert "| n/a |" in committed


def test_device_memory_never_imports_torch(monkeypatch, gpu):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    device_memory.release_cached_device_memory()
    device_memory_in_use()
    assert "torch" not in sys.modules
