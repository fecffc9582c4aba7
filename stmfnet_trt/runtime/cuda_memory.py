"""The few CUDA runtime calls the TensorRT backend needs, through cuda-python (``cuda.bindings``).

Every call goes through ``check`` so that a CUDA error becomes an exception naming the call and
the error, instead of a silently ignored status tuple. Importing this module needs no GPU; the
first call that does raises a clear ``UserError`` on a machine without one.
"""

from __future__ import annotations

from ..errors import UserError


def _cudart():
    try:
        from cuda.bindings import runtime as cudart
    except ImportError as exc:
        raise UserError(
            "the tensorrt backend needs cuda-python: pip install 'stmfnet-trt[tensorrt]'"
        ) from exc
    return cudart


def check(result, call: str):
    """Unpack a cuda-python result tuple, raising on a non-success status."""
    cudart = _cudart()
    status, *values = result if isinstance(result, tuple) else (result,)
    if int(status) != int(cudart.cudaError_t.cudaSuccess):
        _, name = cudart.cudaGetErrorName(status)
        _, text = cudart.cudaGetErrorString(status)
        raise RuntimeError(f"{call} failed: {name.decode()}: {text.decode()}")
    return values[0] if len(values) == 1 else tuple(values)


def current_device() -> dict[str, str]:
    """Name and compute capability of the current GPU; UserError when there is none."""
    cudart = _cudart()
    status, count = cudart.cudaGetDeviceCount()
    if int(status) != 0 or count == 0:
        raise UserError("the tensorrt backend needs an NVIDIA GPU with a working driver; none was found")
    device = check(cudart.cudaGetDevice(), "cudaGetDevice")
    props = check(cudart.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return {"gpu": name.rstrip("\x00"), "compute_capability": f"{props.major}.{props.minor}"}


class DeviceBuffer:
    """A device allocation that grows on demand and is freed on ``free``."""

    def __init__(self) -> None:
        self.pointer = 0
        self.nbytes = 0

    def ensure(self, nbytes: int) -> int:
        if nbytes > self.nbytes:
            self.free()
            self.pointer = int(check(_cudart().cudaMalloc(nbytes), "cudaMalloc"))
            self.nbytes = nbytes
        return self.pointer

    def free(self) -> None:
        if self.pointer:
            check(_cudart().cudaFree(self.pointer), "cudaFree")
            self.pointer, self.nbytes = 0, 0


class Stream:
    """A CUDA stream with host<->device copies of contiguous numpy arrays."""

    def __init__(self) -> None:
        self.cudart = _cudart()
        self.handle = check(self.cudart.cudaStreamCreate(), "cudaStreamCreate")

    def upload(self, device_pointer: int, array) -> None:
        kind = self.cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        check(
            self.cudart.cudaMemcpyAsync(device_pointer, array.ctypes.data, array.nbytes, kind, self.handle),
            "cudaMemcpyAsync(H2D)",
        )

    def download(self, array, device_pointer: int) -> None:
        kind = self.cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        check(
            self.cudart.cudaMemcpyAsync(array.ctypes.data, device_pointer, array.nbytes, kind, self.handle),
            "cudaMemcpyAsync(D2H)",
        )

    def synchronize(self) -> None:
        check(self.cudart.cudaStreamSynchronize(self.handle), "cudaStreamSynchronize")

    def destroy(self) -> None:
        check(self.cudart.cudaStreamDestroy(self.handle), "cudaStreamDestroy")
