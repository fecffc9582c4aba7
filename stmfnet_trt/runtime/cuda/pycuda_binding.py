"""``CudaBinding`` through pycuda, for images that carry it (JetPack) and not cuda-python.

Contexts are current per thread (PyCUDA FAQ), and TensorRT enqueues into the device's primary
context through the runtime API. So this binding retains the **primary** context (never
``pycuda.autoinit``, whose own context is current only on the importing thread and is not the
one TensorRT uses) and pushes it on every thread that calls it (``make_current``, once per
thread); the pipeline's decode and feeder threads pop it again before they end.

Tested against a fake pycuda whose context is current only on the thread that made it current
(tests/support/fake_pycuda.py, tests/runtime/cuda/test_pycuda_binding.py); pycuda needs the CUDA
toolkit to build, so the real one is tested, by the ``gpu``-marked
tests/runtime/cuda/test_cuda_binding_gpu.py, only where it is installed.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.cuda.binding import CudaBinding, HostBuffer, host_view


class PycudaBinding(CudaBinding):
    name = "pycuda"

    def __init__(self, device: int = 0) -> None:
        try:
            import pycuda.driver as driver
        except ImportError as exc:
            raise UserError("STMFNET_CUDA_BINDING=pycuda but pycuda is not installed") from exc
        try:
            driver.init()
            self.device = driver.Device(device)
            self.context = self.device.retain_primary_context()
        except Exception as exc:  # pycuda raises its own LogicError/RuntimeError without a GPU
            raise UserError(f"pycuda could not open a GPU: {exc}") from None
        self.cuda = driver
        self._allocations: dict[int, Any] = {}
        self._threads = threading.local()
        self.make_current()

    def make_current(self) -> None:
        """Push the primary context on this thread unless this binding already did."""
        if not getattr(self._threads, "pushed", False):
            self.context.push()
            self._threads.pushed = True

    def release_thread(self) -> None:
        if getattr(self._threads, "pushed", False):
            self.cuda.Context.pop()
            self._threads.pushed = False

    def device_info(self) -> dict[str, Any]:
        self.make_current()
        device = self.device
        major, minor = device.compute_capability()
        free_bytes, _ = self.cuda.mem_get_info()
        return {
            "gpu": device.name(),
            "compute_capability": f"{major}.{minor}",
            "integrated": bool(device.get_attribute(self.cuda.device_attribute.INTEGRATED)),
            "free_bytes": int(free_bytes),
        }

    def malloc(self, nbytes: int) -> int:
        self.make_current()
        try:
            allocation = self.cuda.mem_alloc(nbytes)
        except self.cuda.MemoryError as exc:
            raise MemoryError(f"mem_alloc({nbytes} bytes): out of device memory") from exc
        self._allocations[int(allocation)] = allocation
        return int(allocation)

    def free(self, pointer: int) -> None:
        self.make_current()
        self._allocations.pop(pointer).free()

    def host_alloc(self, shape: tuple[int, ...], dtype: Any, mapped: bool = False) -> HostBuffer:
        self.make_current()
        flags = self.cuda.host_alloc_flags.DEVICEMAP if mapped else 0
        array = self.cuda.pagelocked_empty(shape, np.dtype(dtype), mem_flags=flags)
        device_pointer = int(array.base.get_device_pointer()) if mapped else 0
        return HostBuffer(array, array.base, device_pointer)

    def host_free(self, buffer: HostBuffer) -> None:
        self.make_current()
        buffer.handle.free()

    def stream_create(self) -> Any:
        self.make_current()
        return self.cuda.Stream()

    def stream_handle(self, stream: Any) -> int:
        return int(stream.handle)

    def stream_destroy(self, stream: Any) -> None:
        """pycuda destroys a stream when its object is collected; nothing to do."""

    def stream_synchronize(self, stream: Any) -> None:
        self.make_current()
        stream.synchronize()

    def stream_wait_event(self, stream: Any, event: Any) -> None:
        self.make_current()
        stream.wait_for_event(event)

    def event_create(self, timing: bool = False) -> Any:
        self.make_current()
        return self.cuda.Event(0 if timing else self.cuda.event_flags.DISABLE_TIMING)

    def event_destroy(self, event: Any) -> None:
        """pycuda destroys an event when its object is collected; nothing to do."""

    def event_record(self, event: Any, stream: Any) -> None:
        self.make_current()
        event.record(stream)

    def event_synchronize(self, event: Any) -> None:
        self.make_current()
        event.synchronize()

    def event_elapsed_ms(self, start: Any, end: Any) -> float:
        self.make_current()
        return float(end.time_since(start))

    def copy_h2d(self, device: int, host: int, nbytes: int, stream: Any) -> None:
        self.make_current()
        self.cuda.memcpy_htod_async(device, _bytes_at(host, nbytes), stream)

    def copy_d2h(self, host: int, device: int, nbytes: int, stream: Any) -> None:
        self.make_current()
        self.cuda.memcpy_dtoh_async(_bytes_at(host, nbytes), device, stream)

    def copy_d2d(self, destination: int, source: int, nbytes: int, stream: Any) -> None:
        self.make_current()
        self.cuda.memcpy_dtod_async(destination, source, nbytes, stream)


def _bytes_at(pointer: int, nbytes: int) -> np.ndarray:
    """pycuda's async copies take a buffer object, not an address: view the pinned memory."""
    return host_view(pointer, (nbytes,), np.uint8)
