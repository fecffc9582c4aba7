"""The cuda-python binding on a real GPU: the calls the TensorRT pipeline makes, without TensorRT.

The pipeline's ordering logic is tested bit-for-bit against a fake binding (``fake_cuda.py``);
this checks that the real binding does what the fake promises: copies land, an event orders
work across two streams, mapped host memory is readable by the device, and an impossible
allocation is a ``MemoryError``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gpu

# 64 MiB: large enough that an unordered copy on the second stream would read stale memory.
ELEMENTS = 16 * 2**20


@pytest.fixture
def cuda():
    pytest.importorskip("cuda.bindings", reason="cuda-python is not installed")
    from stmfnet_trt.runtime.cuda_binding import select_binding

    return select_binding("cuda-python")


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
