"""``CudaBinding`` through pycuda, for images that carry it (JetPack) and not cuda-python.

pycuda needs a context: ``pycuda.autoinit`` makes one on device 0 at import. Written, not run:
pycuda does not build on this project's CPU machines, so this module is only compiled and
linted here; tests that use it skip where pycuda is absent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UserError
from .cuda_binding import CudaBinding, HostBuffer, host_view


class PycudaBinding(CudaBinding):
    name = "pycuda"

    def __init__(self) -> None:
        try:
            import pycuda.autoinit  # noqa: F401  (creates the context on device 0)
            import pycuda.driver as driver
        except ImportError as exc:
            raise UserError("STMFNET_CUDA_BINDING=pycuda but pycuda is not installed") from exc
        except Exception as exc:  # pycuda raises its own LogicError/RuntimeError without a GPU
            raise UserError(f"pycuda could not open a GPU: {exc}") from exc
        self.cuda = driver
        self._allocations: dict[int, Any] = {}

    def device_info(self) -> dict[str, Any]:
        device = self.cuda.Context.get_device()
        major, minor = device.compute_capability()
        free_bytes, _ = self.cuda.mem_get_info()
        return {
            "gpu": device.name(),
            "compute_capability": f"{major}.{minor}",
            "integrated": bool(device.get_attribute(self.cuda.device_attribute.INTEGRATED)),
            "free_bytes": int(free_bytes),
        }

    def malloc(self, nbytes: int) -> int:
        try:
            allocation = self.cuda.mem_alloc(nbytes)
        except self.cuda.MemoryError as exc:
            raise MemoryError(f"mem_alloc({nbytes} bytes): out of device memory") from exc
        self._allocations[int(allocation)] = allocation
        return int(allocation)

    def free(self, pointer: int) -> None:
        self._allocations.pop(pointer).free()

    def host_alloc(self, shape: tuple[int, ...], dtype: Any, mapped: bool = False) -> HostBuffer:
        flags = self.cuda.host_alloc_flags.DEVICEMAP if mapped else 0
        array = self.cuda.pagelocked_empty(shape, np.dtype(dtype), mem_flags=flags)
        device_pointer = int(array.base.get_device_pointer()) if mapped else 0
        return HostBuffer(array, array.base, device_pointer)

    def host_free(self, buffer: HostBuffer) -> None:
        buffer.handle.free()

    def stream_create(self) -> Any:
        return self.cuda.Stream()

    def stream_handle(self, stream: Any) -> int:
        return int(stream.handle)

    def stream_destroy(self, stream: Any) -> None:
        """pycuda destroys a stream when its object is collected; nothing to do."""

    def stream_synchronize(self, stream: Any) -> None:
        stream.synchronize()

    def stream_wait_event(self, stream: Any, event: Any) -> None:
        stream.wait_for_event(event)

    def event_create(self, timing: bool = False) -> Any:
        return self.cuda.Event(0 if timing else self.cuda.event_flags.DISABLE_TIMING)

    def event_destroy(self, event: Any) -> None:
        """pycuda destroys an event when its object is collected; nothing to do."""

    def event_record(self, event: Any, stream: Any) -> None:
        event.record(stream)

    def event_synchronize(self, event: Any) -> None:
        event.synchronize()

    def event_elapsed_ms(self, start: Any, end: Any) -> float:
        return float(end.time_since(start))

    def copy_h2d(self, device: int, host: int, nbytes: int, stream: Any) -> None:
        self.cuda.memcpy_htod_async(device, _bytes_at(host, nbytes), stream)

    def copy_d2h(self, host: int, device: int, nbytes: int, stream: Any) -> None:
        self.cuda.memcpy_dtoh_async(_bytes_at(host, nbytes), device, stream)

    def copy_d2d(self, destination: int, source: int, nbytes: int, stream: Any) -> None:
        self.cuda.memcpy_dtod_async(destination, source, nbytes, stream)


def _bytes_at(pointer: int, nbytes: int) -> np.ndarray:
    """pycuda's async copies take a buffer object, not an address: view the pinned memory."""
    return host_view(pointer, (nbytes,), np.uint8)
