"""The pycuda binding against a fake pycuda whose contexts are current per thread (fake_pycuda.py):
the primary context (TensorRT's) is used, and every thread that calls the binding has it."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from fake_cuda import weighted
from fake_pycuda import AutoinitFinder, FakeDriverState, build

from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.cuda.selection import select_binding
from stmfnet_trt.runtime.cuda.trt_pipeline import pipelined_level
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_stream


@pytest.fixture
def driver_state(monkeypatch) -> FakeDriverState:
    state = FakeDriverState()
    modules = build(state)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "pycuda.autoinit", raising=False)
    monkeypatch.setattr(sys, "meta_path", [AutoinitFinder(modules["pycuda.driver"]), *sys.meta_path])
    for name in ("cuda", "cuda.bindings"):  # a stock JetPack image: pycuda, no cuda-python
        monkeypatch.setitem(sys.modules, name, None)
    return state


def in_thread(work):
    """Run ``work`` on a new thread; return its result or raise its exception here."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def test_the_fake_has_no_context_on_a_thread_that_did_not_push_one(driver_state):
    import pycuda.autoinit  # noqa: F401  (a context on this thread only, as the real one)
    import pycuda.driver as driver

    driver.mem_alloc(16).free()
    with pytest.raises(driver.LogicError, match="invalid device context"):
        in_thread(lambda: driver.mem_alloc(16))


def test_binding_works_from_another_thread_in_the_primary_context(driver_state):
    binding = select_binding("pycuda")
    host = binding.host_alloc((4,), np.float32)
    host.array[:] = [1, 2, 3, 4]
    back = binding.host_alloc((4,), np.float32)

    def copy_round_trip() -> None:
        stream, event = binding.stream_create(), binding.event_create()
        device = binding.malloc(16)
        binding.copy_h2d(device, host.pointer, 16, stream)
        binding.event_record(event, stream)
        binding.event_synchronize(event)
        binding.copy_d2h(back.pointer, device, 16, stream)
        binding.stream_synchronize(stream)
        binding.free(device)
        binding.release_thread()
        assert driver_state.stack() == []  # popped again before the thread ends

    in_thread(copy_round_trip)
    assert back.array.tolist() == [1, 2, 3, 4]
    assert {context.primary for _, context in driver_state.used_contexts} == {True}
    assert binding.device_info() == {
        "gpu": "Fake Orin",
        "compute_capability": "8.7",
        "integrated": True,
        "free_bytes": 1 << 30,
    }


class _Launcher:
    """The fake engine on fake-pycuda memory; it needs the primary context on its thread, as
    TensorRT's enqueue does."""

    def __init__(self, state: FakeDriverState) -> None:
        self.state = state

    def launch(self, stream, inputs, output, batch, height, width) -> None:
        context = self.state.require("cuLaunchKernel")
        assert context.primary, "TensorRT enqueues into the primary context"
        nbytes = batch * 3 * height * width * 4
        frames = [self.state.bytes_at(p, nbytes).view(np.float32) for p in inputs]
        self.state.bytes_at(output, nbytes)[:] = weighted(frames).view(np.uint8)


class _Pipelined(Backend):
    name = "pipelined"
    runs_own_x2_level = True

    def __init__(self, binding, state: FakeDriverState) -> None:
        self.binding, self.launcher = binding, _Launcher(state)

    def _interpolate(self, windows):
        return weighted([windows[:, k] for k in range(4)])

    def double_frame_rate(self, frames, detector, batch_size, stats):
        return pipelined_level(self.binding, self.launcher, frames, detector, batch_size, stats)


def test_x4_pipeline_runs_on_pycuda_across_its_threads(driver_state):
    """Decode and feeder threads of two chained levels all reach the GPU through the binding."""
    rng = np.random.default_rng(0)
    frames = [(0.2 + 0.5 * rng.random((3, 70, 130))).astype(np.float32) for _ in range(6)]
    detector = SceneCutDetector(enabled=False)

    class Reference(_Pipelined):
        runs_own_x2_level = False

    binding = select_binding("pycuda")
    expected = list(interpolate_stream(iter(frames), Reference(binding, driver_state), 4, detector, 2))
    got = list(
        interpolate_stream(iter(frames), _Pipelined(binding, driver_state), 4, detector, 2, SchedulerStats())
    )
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert {context.primary for _, context in driver_state.used_contexts} == {True}


def test_classic_build_finds_the_gpu_through_pycuda_without_cuda_python(driver_state):
    from stmfnet_trt.engine.build import _device_for
    from stmfnet_trt.engine.worker import _device_info

    assert select_binding().name == "pycuda"
    expected = {"gpu": "Fake Orin", "compute_capability": "8.7"}
    assert _device_for("tensorrt") == _device_info() == expected
