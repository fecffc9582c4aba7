"""The CUDA bindings (cuda-python; pycuda where installed) on a real GPU: the pipeline's calls.

The pipeline's ordering logic is tested bit-for-bit against a fake binding (``fake_cuda.py``);
this checks that the real binding does what the fake promises: copies land, an event orders
work across two streams, mapped host memory is readable by the device, and an impossible
allocation is a ``MemoryError``.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytestmark = pytest.mark.gpu

# 64 MiB: large enough that an unordered copy on the second stream would read stale memory.
ELEMENTS = 16 * 2**20


FLAVOUR_MODULES = {"cuda-python": "cuda.bindings", "pycuda": "pycuda.driver"}


@pytest.fixture(params=sorted(FLAVOUR_MODULES))
def cuda(request):
    """Each binding the pipeline may run on (pycuda: JetPack images without cuda-python)."""
    pytest.importorskip(FLAVOUR_MODULES[request.param], reason=f"{request.param} is not installed")
    from stmfnet_trt.runtime.cuda.selection import select_binding

    return select_binding(request.param)


def test_device_info_names_the_gpu(cuda):
    info = cuda.device_info()
    assert info["gpu"] and info["free_bytes"] > 2**20
    major, minor = (int(part) for part in info["compute_capability"].split("."))
    assert major >= 5 and minor >= 0


def test_copies_on_two_streams_ordered_by_an_event(cuda):
    data = np.random.default_rng(0).random(ELEMENTS, dtype=np.float32)
    nbytes = data.nbytes
    source, result = cuda.host_alloc(data.shape, np.float32), cuda.host_alloc(data.shape, np.float32)
    first, second = cuda.malloc(nbytes), cuda.malloc(nbytes)
    upload, compute = cuda.stream_create(), cuda.stream_create()
    uploaded, started, finished = cuda.event_create(), cuda.event_create(True), cuda.event_create(True)
    try:
        source.array[:] = data
        result.array[:] = 0
        cuda.copy_h2d(first, source.pointer, nbytes, upload)
        cuda.event_record(uploaded, upload)
        cuda.stream_wait_event(compute, uploaded)
        cuda.event_record(started, compute)
        cuda.copy_d2d(second, first, nbytes, compute)
        cuda.copy_d2h(result.pointer, second, nbytes, compute)
        cuda.event_record(finished, compute)
        cuda.event_synchronize(finished)
        np.testing.assert_array_equal(result.array, data)
        assert cuda.event_elapsed_ms(started, finished) > 0.0
    finally:
        for event in (uploaded, started, finished):
            cuda.event_destroy(event)
        for stream in (upload, compute):
            cuda.stream_destroy(stream)
        cuda.free(first)
        cuda.free(second)
        cuda.host_free(source)
        cuda.host_free(result)


def test_mapped_host_memory_is_read_by_the_device(cuda):
    data = np.arange(4096, dtype=np.float32)
    mapped, result = (
        cuda.host_alloc(data.shape, np.float32, mapped=True),
        cuda.host_alloc(data.shape, np.float32),
    )
    device = cuda.malloc(data.nbytes)
    stream = cuda.stream_create()
    try:
        assert mapped.device_pointer != 0
        mapped.array[:] = data
        cuda.copy_d2d(device, mapped.device_pointer, data.nbytes, stream)
        cuda.copy_d2h(result.pointer, device, data.nbytes, stream)
        cuda.stream_synchronize(stream)
        np.testing.assert_array_equal(result.array, data)
    finally:
        cuda.stream_destroy(stream)
        cuda.free(device)
        cuda.host_free(mapped)
        cuda.host_free(result)


def test_an_impossible_allocation_is_a_memory_error(cuda):
    with pytest.raises(MemoryError, match="out of device memory"):
        cuda.malloc(2**50)


def test_a_second_thread_copies_in_the_same_context(cuda):
    """The pipeline's decode and feeder threads call the binding too (pycuda: per-thread contexts)."""
    data = np.arange(1024, dtype=np.float32)
    source, result = cuda.host_alloc(data.shape, np.float32), cuda.host_alloc(data.shape, np.float32)
    device = cuda.malloc(data.nbytes)  # allocated on this thread, used on the other
    errors: list[BaseException] = []

    def copy_round_trip() -> None:
        try:
            stream = cuda.stream_create()
            cuda.copy_h2d(device, source.pointer, data.nbytes, stream)
            cuda.copy_d2h(result.pointer, device, data.nbytes, stream)
            cuda.stream_synchronize(stream)
            cuda.stream_destroy(stream)
        except BaseException as error:
            errors.append(error)
        finally:
            cuda.release_thread()

    source.array[:] = data
    worker = threading.Thread(target=copy_round_trip)
    worker.start()
    worker.join()
    try:
        assert not errors, errors
        np.testing.assert_array_equal(result.array, data)
    finally:
        cuda.free(device)
        cuda.host_free(source)
        cuda.host_free(result)


def test_pycuda_memory_is_in_the_primary_context_tensorrt_uses():
    """TensorRT enqueues through the runtime API, i.e. into the primary context: a pycuda
    allocation must be valid there (it is not under pycuda.autoinit's own context)."""
    pytest.importorskip("pycuda.driver", reason="pycuda is not installed")
    pytest.importorskip("cuda.bindings", reason="cuda-python is not installed")
    from cuda.bindings import runtime

    from stmfnet_trt.runtime.cuda.selection import select_binding

    pycuda_binding, runtime_binding = select_binding("pycuda"), select_binding("cuda-python")
    data = np.arange(256, dtype=np.float32)
    source, result = (runtime_binding.host_alloc(data.shape, np.float32) for _ in range(2))
    device = pycuda_binding.malloc(data.nbytes)
    try:
        source.array[:] = data
        stream = pycuda_binding.stream_create()
        pycuda_binding.copy_h2d(device, source.pointer, data.nbytes, stream)
        pycuda_binding.stream_synchronize(stream)
        kind = runtime.cudaMemcpyKind.cudaMemcpyDeviceToHost
        (status,) = runtime.cudaMemcpy(result.pointer, device, data.nbytes, kind)
        assert int(status) == 0, status
        np.testing.assert_array_equal(result.array, data)
    finally:
        pycuda_binding.free(device)
        runtime_binding.host_free(source)
        runtime_binding.host_free(result)
