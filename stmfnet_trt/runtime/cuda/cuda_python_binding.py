"""``CudaBinding`` through cuda-python's runtime API (``cuda.bindings.runtime``): the primary one.

Every call goes through ``check`` so that a CUDA error becomes an exception naming the call and
the error, instead of a status tuple nobody reads. Without a GPU the tests reach the import and
the no-GPU error path; the calls themselves (copies, events across streams, mapped memory, the
out-of-memory error) are checked by the ``gpu``-marked tests/runtime/cuda/test_cuda_binding_gpu.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.cuda.binding import CudaBinding, HostBuffer, host_view


def _cudart():
    try:
        from cuda.bindings import runtime as cudart
    except ImportError as exc:
        raise UserError("the tensorrt backend needs cuda-python: pip install cuda-python") from exc
    return cudart


def check(result: Any, call: str) -> Any:
    """Unpack a cuda-python result tuple, raising on a non-success status."""
    cudart = _cudart()
    status, *values = result if isinstance(result, tuple) else (result,)
    if int(status) != int(cudart.cudaError_t.cudaSuccess):
        _, name = cudart.cudaGetErrorName(status)
        _, text = cudart.cudaGetErrorString(status)
        if int(status) == int(cudart.cudaError_t.cudaErrorMemoryAllocation):
            raise MemoryError(f"{call}: out of device memory ({text.decode()})")
        raise RuntimeError(f"{call} failed: {name.decode()}: {text.decode()}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


class CudaPythonBinding(CudaBinding):
    name = "cuda-python"

    def __init__(self) -> None:
        self.rt = _cudart()

    def device_info(self) -> dict[str, Any]:
        status, count = self.rt.cudaGetDeviceCount()
        if int(status) != 0 or not count:
            raise UserError(
                "the tensorrt backend needs an NVIDIA GPU with a working driver; none was found "
                f"(cudaGetDeviceCount: {getattr(status, 'name', status)})"
            )
        device = check(self.rt.cudaGetDevice(), "cudaGetDevice")
        props = check(self.rt.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
        free_bytes, _ = check(self.rt.cudaMemGetInfo(), "cudaMemGetInfo")
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        return {
            "gpu": name.rstrip("\x00"),
            "compute_capability": f"{props.major}.{props.minor}",
            "integrated": bool(props.integrated),
            "free_bytes": int(free_bytes),
        }

    def malloc(self, nbytes: int) -> int:
        return int(check(self.rt.cudaMalloc(nbytes), f"cudaMalloc({nbytes} bytes)"))

    def free(self, pointer: int) -> None:
        check(self.rt.cudaFree(pointer), "cudaFree")

    def host_alloc(self, shape: tuple[int, ...], dtype: Any, mapped: bool = False) -> HostBuffer:
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        flags = self.rt.cudaHostAllocMapped if mapped else self.rt.cudaHostAllocDefault
        pointer = int(check(self.rt.cudaHostAlloc(nbytes, flags), "cudaHostAlloc"))
        device_pointer = (
            int(check(self.rt.cudaHostGetDevicePointer(pointer, 0), "cudaHostGetDevicePointer"))
            if mapped
            else 0
        )
        return HostBuffer(host_view(pointer, shape, dtype), pointer, device_pointer)

    def host_free(self, buffer: HostBuffer) -> None:
        check(self.rt.cudaFreeHost(buffer.handle), "cudaFreeHost")

    def stream_create(self) -> Any:
        return check(self.rt.cudaStreamCreateWithFlags(self.rt.cudaStreamNonBlocking), "cudaStreamCreate")

    def stream_handle(self, stream: Any) -> int:
        return int(stream)

    def stream_destroy(self, stream: Any) -> None:
        check(self.rt.cudaStreamDestroy(stream), "cudaStreamDestroy")

    def stream_synchronize(self, stream: Any) -> None:
        check(self.rt.cudaStreamSynchronize(stream), "cudaStreamSynchronize")

    def stream_wait_event(self, stream: Any, event: Any) -> None:
        check(self.rt.cudaStreamWaitEvent(stream, event, 0), "cudaStreamWaitEvent")

    def event_create(self, timing: bool = False) -> Any:
        flags = self.rt.cudaEventDefault if timing else self.rt.cudaEventDisableTiming
        return check(self.rt.cudaEventCreateWithFlags(flags), "cudaEventCreate")

    def event_destroy(self, event: Any) -> None:
        check(self.rt.cudaEventDestroy(event), "cudaEventDestroy")

    def event_record(self, event: Any, stream: Any) -> None:
        check(self.rt.cudaEventRecord(event, stream), "cudaEventRecord")

    def event_synchronize(self, event: Any) -> None:
        check(self.rt.cudaEventSynchronize(event), "cudaEventSynchronize")

    def event_elapsed_ms(self, start: Any, end: Any) -> float:
        return float(check(self.rt.cudaEventElapsedTime(start, end), "cudaEventElapsedTime"))

    def _copy(self, destination: int, source: int, nbytes: int, kind: Any, stream: Any, what: str) -> None:
        check(self.rt.cudaMemcpyAsync(destination, source, nbytes, kind, stream), f"cudaMemcpyAsync({what})")

    def copy_h2d(self, device: int, host: int, nbytes: int, stream: Any) -> None:
        self._copy(device, host, nbytes, self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream, "H2D")

    def copy_d2h(self, host: int, device: int, nbytes: int, stream: Any) -> None:
        self._copy(host, device, nbytes, self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream, "D2H")

    def copy_d2d(self, destination: int, source: int, nbytes: int, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice
        self._copy(destination, source, nbytes, kind, stream, "D2D")
