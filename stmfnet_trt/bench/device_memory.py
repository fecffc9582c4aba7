"""Device memory in use on the GPU, for the bench's peak-memory figures.

The one number is total - free from cudaMemGetInfo: TensorRT engines, ONNX Runtime's CUDA provider
and torch's caching allocator all take their memory from the driver, so its view is the figure
that compares backends. Allocator counters such as ``torch.cuda.max_memory_reserved`` see only
torch's share and none of the CUDA context. The driver's view is device-wide: other processes on
the same GPU count too, so benchmark on an otherwise idle GPU.

The device is device 0 (the default of every thread that selects none; no backend here calls
cudaSetDevice). For ``--device cuda:N`` pick the GPU with ``CUDA_VISIBLE_DEVICES=N`` instead.

torch is asked only when something already imported it and initialised CUDA: importing it just for
this would break the torch-free runtime. Otherwise cuda-python answers; on a machine without a GPU
its runtime API returns an error status and its driver API raises a RuntimeError (the driver
library is not found). Every such error reads as "no GPU".
"""

from __future__ import annotations

import sys
from types import ModuleType

DEVICE = 0


def _torch_cuda() -> ModuleType | None:
    """``torch.cuda`` when torch is already imported and has initialised CUDA, else None."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda


def _cudart_free_total() -> tuple[int, int] | None:
    """(free, total) bytes from cuda-python's cudaMemGetInfo; None without cuda-python or a GPU."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        return None
    try:
        status, free, total = cudart.cudaMemGetInfo()
    except RuntimeError:
        return None
    if status != cudart.cudaError_t.cudaSuccess:
        return None
    return int(free), int(total)


def device_memory_in_use() -> int | None:
    """Bytes in use on the GPU (total - free), or None where there is no GPU."""
    torch_cuda = _torch_cuda()
    free_total = torch_cuda.mem_get_info(DEVICE) if torch_cuda else _cudart_free_total()
    if free_total is None:
        return None
    free, total = free_total
    return total - free


def cuda_context_exists() -> bool:
    """Whether this process already holds a CUDA context on the GPU.

    Reading device memory through the runtime API creates the context when there is none, which
    costs hundreds of MB of device memory and of host RSS that a CPU-only row never needed; the
    driver API can tell without creating one. False without cuda-python or a GPU.
    """
    if _torch_cuda() is not None:
        return True
    try:
        from cuda.bindings import driver
    except ImportError:
        return False
    try:
        (status,) = driver.cuInit(0)
    except RuntimeError:
        return False
    if status != driver.CUresult.CUDA_SUCCESS:
        return False
    status, _flags, active = driver.cuDevicePrimaryCtxGetState(DEVICE)
    return status == driver.CUresult.CUDA_SUCCESS and bool(active)


def gpu_name() -> str | None:
    """The GPU's name when this process holds a CUDA context on it (so a GPU row was measured),
    else None; never creates a context (see ``cuda_context_exists``)."""
    if not cuda_context_exists():
        return None
    torch_cuda = _torch_cuda()
    if torch_cuda is not None:
        return torch_cuda.get_device_name(DEVICE)
    from cuda.bindings import runtime as cudart

    status, props = cudart.cudaGetDeviceProperties(DEVICE)
    if status != cudart.cudaError_t.cudaSuccess:
        return None
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return name.rstrip("\x00")


def release_cached_device_memory() -> None:
    """Hand torch's cached, unused blocks back to the driver (no-op unless torch initialised CUDA).

    The caching allocator keeps what one row freed reserved for the next; without this, a row would
    be charged for the rows before it and its own growth would hide inside their cache.
    """
    torch_cuda = _torch_cuda()
    if torch_cuda is not None:
        torch_cuda.empty_cache()
