"""Device buffers and a stream for the per-batch TensorRT path, over any ``CudaBinding``.

Importing this module needs no GPU; the first call that does raises a clear ``UserError`` on a
machine without one (``CudaBinding.device_info``).
"""

from __future__ import annotations

import numpy as np

from stmfnet_trt.runtime.cuda.binding import CudaBinding
from stmfnet_trt.runtime.cuda.selection import select_binding


def current_device(binding: CudaBinding | None = None) -> dict[str, str]:
    """Name and compute capability of the current GPU (what engine sidecars record)."""
    info = (binding or select_binding()).device_info()
    return {"gpu": info["gpu"], "compute_capability": info["compute_capability"]}


class DeviceBuffer:
    """A device allocation that grows on demand and is freed on ``free``."""

    def __init__(self, binding: CudaBinding) -> None:
        self.binding = binding
        self.pointer = 0
        self.nbytes = 0

    def ensure(self, nbytes: int) -> int:
        if nbytes > self.nbytes:
            self.free()
            self.pointer = self.binding.malloc(nbytes)
            self.nbytes = nbytes
        return self.pointer

    def free(self) -> None:
        if self.pointer:
            self.binding.free(self.pointer)
            self.pointer, self.nbytes = 0, 0


class Stream:
    """A CUDA stream with host<->device copies of contiguous numpy arrays."""

    def __init__(self, binding: CudaBinding) -> None:
        self.binding = binding
        self.stream = binding.stream_create()
        self.handle = binding.stream_handle(self.stream)

    def upload(self, device_pointer: int, array: np.ndarray) -> None:
        self.binding.copy_h2d(device_pointer, array.ctypes.data, array.nbytes, self.stream)

    def download(self, array: np.ndarray, device_pointer: int) -> None:
        self.binding.copy_d2h(array.ctypes.data, device_pointer, array.nbytes, self.stream)

    def synchronize(self) -> None:
        self.binding.stream_synchronize(self.stream)

    def destroy(self) -> None:
        self.binding.stream_destroy(self.stream)
