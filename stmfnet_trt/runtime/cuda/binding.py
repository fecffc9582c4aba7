"""The small CUDA interface the TensorRT runtime needs (``CudaBinding``), and host-buffer helpers.

Two implementations answer the same calls: cuda-python (``cuda.bindings.runtime``; installs and
imports without a GPU) and pycuda (Jetson images often carry it); ``selection.select_binding``
picks one. Pointers, streams and events are plain ints or opaque handles so that the pipeline
logic can be driven by a fake binding in CPU tests (tests/support/fake_cuda.py). Nothing here
imports torch.
"""

from __future__ import annotations

import abc
import ctypes
import os
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class HostBuffer:
    """Page-locked host memory: ``array`` views it; ``device_pointer`` is set when it is mapped.

    On an integrated GPU (Jetson) mapped memory is the device's own memory, so the device reads
    it through ``device_pointer`` and the host<->device copy disappears.
    """

    array: np.ndarray
    handle: Any
    device_pointer: int = 0

    @property
    def pointer(self) -> int:
        return int(self.array.ctypes.data)


def host_view(pointer: int, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A numpy array over ``pointer`` (memory owned elsewhere, e.g. cudaHostAlloc)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = (ctypes.c_byte * nbytes).from_address(pointer)
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


class CudaBinding(abc.ABC):
    """Device and pinned memory, streams, events and async copies; every failure raises."""

    name: str = "binding"

    def make_current(self) -> None:  # noqa: B027  (a hook: only driver-API bindings override it)
        """Make this binding's CUDA context current on the calling thread.

        CUDA contexts are current per thread. The runtime API (cuda-python, TensorRT) falls back
        to the device's primary context on any thread, so the default does nothing; a driver-API
        binding (pycuda) pushes its context, once per thread. Called by every thread that uses
        the binding or TensorRT.
        """

    def release_thread(self) -> None:  # noqa: B027  (a hook, as make_current)
        """Undo ``make_current`` before a thread that called it ends (default: nothing to undo)."""

    @abc.abstractmethod
    def device_info(self) -> dict[str, Any]:
        """``gpu``, ``compute_capability`` ("8.7"), ``integrated`` (bool), ``free_bytes``."""

    @abc.abstractmethod
    def malloc(self, nbytes: int) -> int: ...

    @abc.abstractmethod
    def free(self, pointer: int) -> None: ...

    @abc.abstractmethod
    def host_alloc(self, shape: tuple[int, ...], dtype: Any, mapped: bool = False) -> HostBuffer:
        """Page-locked host array; ``mapped`` also maps it into the device's address space."""

    @abc.abstractmethod
    def host_free(self, buffer: HostBuffer) -> None: ...

    @abc.abstractmethod
    def stream_create(self) -> Any: ...

    @abc.abstractmethod
    def stream_handle(self, stream: Any) -> int:
        """The raw ``cudaStream_t`` as an int, for TensorRT's ``execute_async_v3``."""

    @abc.abstractmethod
    def stream_destroy(self, stream: Any) -> None: ...

    @abc.abstractmethod
    def stream_synchronize(self, stream: Any) -> None: ...

    @abc.abstractmethod
    def stream_wait_event(self, stream: Any, event: Any) -> None:
        """Later work on ``stream`` waits (on the GPU, not the host) for ``event``."""

    @abc.abstractmethod
    def event_create(self, timing: bool = False) -> Any: ...

    @abc.abstractmethod
    def event_destroy(self, event: Any) -> None: ...

    @abc.abstractmethod
    def event_record(self, event: Any, stream: Any) -> None: ...

    @abc.abstractmethod
    def event_synchronize(self, event: Any) -> None: ...

    @abc.abstractmethod
    def event_elapsed_ms(self, start: Any, end: Any) -> float: ...

    @abc.abstractmethod
    def copy_h2d(self, device: int, host: int, nbytes: int, stream: Any) -> None: ...

    @abc.abstractmethod
    def copy_d2h(self, host: int, device: int, nbytes: int, stream: Any) -> None: ...

    @abc.abstractmethod
    def copy_d2d(self, destination: int, source: int, nbytes: int, stream: Any) -> None: ...


_DRIVER_TOO_OLD = 1
_MESSAGE_BYTES = 1024


def plugin_driver_problem(library: str | os.PathLike, driver_version: int = -1) -> str | None:
    """Why the plugin ``library`` cannot run with this machine's NVIDIA driver, or None.

    The library links its CUDA runtime statically and needs a driver for that CUDA major version
    (CUDA 13: R580+; JetPack 6 and many desktops have CUDA 12 drivers). ``driver_version``: a CUDA
    version as the driver reports it (12060 = 12.6); default: ask the installed driver. No driver
    at all is not this check's to report (the GPU checks say it).
    """
    check = ctypes.CDLL(str(library)).stmfnet_trt_cuda_driver_check
    check.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    check.restype = ctypes.c_int
    message = ctypes.create_string_buffer(_MESSAGE_BYTES)
    if check(driver_version, message, _MESSAGE_BYTES) != _DRIVER_TOO_OLD:
        return None
    return message.value.decode()
