"""A fake ``pycuda`` package whose contexts are current per thread, as the real driver's are.

Every driver call needs a current context on the calling thread and fails like pycuda does
(``LogicError: ... invalid device context``) without one. ``Device.retain_primary_context``
returns the device's primary context (the one TensorRT's runtime API uses) without making it
current; ``Context.push``/``Context.pop`` work on the calling thread's stack only;
``pycuda.autoinit`` makes a new, non-primary context current on the importing thread, as the
real one does. Each call records the context it ran in, so a test can check that all work went
to the primary context. Copies really copy (synchronously), so a pipeline can run on it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import threading
import types

import numpy as np


class LogicError(RuntimeError):
    pass


class FakeMemoryError(Exception):
    pass


class FakeDriverState:
    """Process-wide state: contexts, device memory, and the per-thread context stacks."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.primary = FakeContext(self, primary=True)
        self.memory: dict[int, np.ndarray] = {}
        self.next_address = 1 << 40
        self.used_contexts: list[tuple[str, FakeContext]] = []
        self.lock = threading.Lock()

    def stack(self) -> list:
        if not hasattr(self.local, "stack"):
            self.local.stack = []
        return self.local.stack

    def require(self, call: str) -> FakeContext:
        stack = self.stack()
        if not stack:
            raise LogicError(f"{call} failed: invalid device context")
        with self.lock:
            self.used_contexts.append((call, stack[-1]))
        return stack[-1]

    def bytes_at(self, pointer: int, nbytes: int) -> np.ndarray:
        for base, array in self.memory.items():
            if base <= pointer and pointer + nbytes <= base + array.nbytes:
                return array[pointer - base : pointer - base + nbytes]
        raise LogicError(f"invalid device pointer {pointer:#x}")

    def register(self, array: np.ndarray) -> int:
        with self.lock:
            address = self.next_address
            self.next_address += array.nbytes + 4096
            self.memory[address] = array
        return address


class FakeContext:
    def __init__(self, state: FakeDriverState, primary: bool) -> None:
        self.state, self.primary = state, primary

    def push(self) -> None:
        self.state.stack().append(self)


def build(state: FakeDriverState | None = None) -> dict[str, types.ModuleType]:
    """The modules ``pycuda``, ``pycuda.driver`` and ``pycuda.autoinit`` over one fake driver."""
    state = state or FakeDriverState()
    driver = types.ModuleType("pycuda.driver")
    driver.state = state
    driver.LogicError = LogicError
    driver.MemoryError = FakeMemoryError
    driver.device_attribute = types.SimpleNamespace(INTEGRATED="integrated")
    driver.host_alloc_flags = types.SimpleNamespace(DEVICEMAP=1)
    driver.event_flags = types.SimpleNamespace(DISABLE_TIMING=2)
    driver.init = lambda: None

    class Context:
        @staticmethod
        def pop() -> None:
            stack = state.stack()
            if not stack:
                raise LogicError("cuCtxPopCurrent failed: invalid device context")
            stack.pop()

        @staticmethod
        def get_current():
            stack = state.stack()
            return stack[-1] if stack else None

    class DeviceAllocation:
        def __init__(self, nbytes: int) -> None:
            self.address = state.register(np.full(nbytes, 0xFF, np.uint8))

        def __int__(self) -> int:
            return self.address

        def free(self) -> None:
            state.require("cuMemFree")
            del state.memory[self.address]

    class Stream:
        def __init__(self) -> None:
            state.require("cuStreamCreate")
            self.handle = id(self)

        def synchronize(self) -> None:
            state.require("cuStreamSynchronize")

        def wait_for_event(self, event) -> None:
            state.require("cuStreamWaitEvent")

    class Event:
        def __init__(self, flags: int = 0) -> None:
            state.require("cuEventCreate")

        def record(self, stream) -> None:
            state.require("cuEventRecord")

        def synchronize(self) -> None:
            state.require("cuEventSynchronize")

        def time_since(self, other) -> float:
            state.require("cuEventElapsedTime")
            return 0.0

    class PinnedBase:
        def __init__(self, array: np.ndarray, mapped: bool) -> None:
            self.array = array
            self.device = state.register(array.reshape(-1).view(np.uint8)) if mapped else 0

        def get_device_pointer(self) -> int:
            return self.device

        def free(self) -> None:
            state.require("cuMemFreeHost")
            if self.device:
                del state.memory[self.device]

    def pagelocked_empty(shape, dtype, mem_flags: int = 0) -> np.ndarray:
        state.require("cuMemHostAlloc")
        owner = np.zeros(shape, dtype)
        return _PinnedArray(owner, PinnedBase(owner, bool(mem_flags & 1)))

    def mem_alloc(nbytes: int) -> DeviceAllocation:
        state.require("cuMemAlloc")
        return DeviceAllocation(nbytes)

    def mem_get_info() -> tuple[int, int]:
        state.require("cuMemGetInfo")
        return 1 << 30, 1 << 31

    def memcpy_htod_async(device: int, host: np.ndarray, stream) -> None:
        state.require("cuMemcpyHtoDAsync")
        state.bytes_at(int(device), host.nbytes)[:] = host.reshape(-1).view(np.uint8)

    def memcpy_dtoh_async(host: np.ndarray, device: int, stream) -> None:
        state.require("cuMemcpyDtoHAsync")
        host.reshape(-1).view(np.uint8)[:] = state.bytes_at(int(device), host.nbytes)

    def memcpy_dtod_async(destination: int, source: int, nbytes: int, stream) -> None:
        state.require("cuMemcpyDtoDAsync")
        state.bytes_at(int(destination), nbytes)[:] = state.bytes_at(int(source), nbytes).copy()

    class Device:
        def __init__(self, ordinal: int) -> None:
            self.ordinal = ordinal

        def retain_primary_context(self) -> FakeContext:
            return state.primary

        def make_context(self) -> FakeContext:
            context = FakeContext(state, primary=False)
            context.push()
            return context

        def name(self) -> str:
            return "Fake Orin"

        def compute_capability(self) -> tuple[int, int]:
            return 8, 7

        def get_attribute(self, attribute) -> int:
            return 1

    for name, value in dict(locals()).items():
        if name not in ("state", "driver") and not name.startswith("_"):
            setattr(driver, name, value)
    package = types.ModuleType("pycuda")
    package.__path__ = []
    package.__spec__ = importlib.machinery.ModuleSpec("pycuda", None, is_package=True)
    package.driver = driver
    return {"pycuda": package, "pycuda.driver": driver}


class AutoinitFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import pycuda.autoinit`` do what the real one does: a new context on device 0,
    made current on the importing thread only."""

    def __init__(self, driver: types.ModuleType) -> None:
        self.driver = driver

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name == "pycuda.autoinit" else None

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        module.context = self.driver.Device(0).make_context()


class _PinnedArray(np.ndarray):
    """A numpy array whose ``.base`` is the pinned allocation (``get_device_pointer``, ``free``)."""

    def __new__(cls, view: np.ndarray, base) -> _PinnedArray:
        array = view.view(cls)
        array._pinned = base
        return array

    def __array_finalize__(self, obj) -> None:
        self._pinned = getattr(obj, "_pinned", None)

    @property
    def base(self):
        """pycuda's pagelocked arrays: ``array.base`` is the host allocation."""
        return self._pinned
