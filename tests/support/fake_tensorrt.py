"""A fake TensorRT module (runtime, engine, execution context) over ``FakeCuda``, with the real
API's contract where our code could get it wrong.

* Each ``IExecutionContext`` holds its own shapes and addresses. TensorRT lets many threads run
  an engine only with one context each, and one context's enqueues share its scratch memory:
  using a context from a second thread while another thread is configuring it, or enqueueing
  on a second stream while its enqueue on another stream has not run yet, is recorded in
  ``engine.violations`` and raises (the real library would silently mix the two).
* ``set_input_shape`` returns False (it does not raise) for a shape outside the profile or an
  unknown name; ``set_tensor_address`` False for a null address or unknown name;
  ``execute_async_v3`` False when a shape or address is missing; ``create_execution_context``
  None when the engine has no memory left for another (``EngineSpec.max_contexts``).
* I/O tensors report a dtype and a format; the engine computes in what it reports, so an
  FP16-I/O engine fed FP32 bytes gives garbage, as the real one would.

The engine's arithmetic is ``fake_cuda.weighted`` (the four frames' fixed weighted sum), run on
the stream when the fake CUDA runs its queues.
"""

from __future__ import annotations

import enum
import importlib.machinery
import threading
import types
from dataclasses import dataclass, field

import numpy as np
from fake_cuda import FakeCuda, weighted

from stmfnet_trt.core.contract import INPUT_NAMES, OUTPUT_NAME


class DataType(enum.Enum):
    FLOAT = 0
    HALF = 1
    INT8 = 2


class TensorFormat(enum.Enum):
    LINEAR = 0
    CHW32 = 1
    HWC8 = 2


_NUMPY = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8}


class ContractViolation(AssertionError):
    """Our code used the fake in a way the real TensorRT does not allow."""


@dataclass
class EngineSpec:
    """What a fake engine file deserialises to: its profile (N, H, W) bounds and I/O types."""

    min: tuple[int, int, int] = (1, 128, 128)
    max: tuple[int, int, int] = (4, 512, 512)
    dtypes: dict[str, DataType] = field(default_factory=dict)
    formats: dict[str, TensorFormat] = field(default_factory=dict)
    max_contexts: int = 100
    refuse_addresses: bool = False

    def shape_ok(self, shape: tuple[int, ...]) -> bool:
        if len(shape) != 4 or shape[1] != 3:
            return False
        nhw = (shape[0], shape[2], shape[3])
        return all(low <= v <= high for low, v, high in zip(self.min, nhw, self.max, strict=True))


class IProfiler:
    """Base of user profilers (``bench --layers``); the fake reports one layer per enqueue."""

    def report_layer_time(self, layer_name: str, ms: float) -> None:
        raise NotImplementedError


class FakeContext:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.profiler: IProfiler | None = None
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addresses: dict[str, int] = {}
        self.configuring: int | None = None  # thread between its first set_* and its enqueue
        self.in_flight: tuple[int, int, list[bool]] | None = None  # (stream, thread, [done])
        self.lock = threading.Lock()

    def _use(self) -> None:
        """Mark this thread as the one configuring the context; fail if another one is."""
        me = threading.get_ident()
        with self.lock:
            if self.configuring not in (None, me):
                self.engine.fail("one execution context configured from two threads at once")
            self.configuring = me

    def set_input_shape(self, name: str, shape) -> bool:
        self._use()
        shape = tuple(int(v) for v in shape)
        if name not in INPUT_NAMES or not self.engine.spec.shape_ok(shape):
            return False
        self.shapes[name] = shape
        return True

    def set_tensor_address(self, name: str, pointer: int) -> bool:
        self._use()
        if name not in (*INPUT_NAMES, OUTPUT_NAME) or not pointer or self.engine.spec.refuse_addresses:
            return False
        self.addresses[name] = int(pointer)
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        self._use()
        cuda, me = self.engine.cuda, threading.get_ident()
        with self.lock:
            self.configuring = None
            if self.in_flight is not None and not self.in_flight[2][0]:
                stream, thread, _ = self.in_flight
                if stream != stream_handle or thread != me:
                    self.engine.fail(
                        "one execution context enqueued on a second stream or thread while its "
                        "previous enqueue had not run (they share its scratch memory)"
                    )
        if set(self.shapes) != set(INPUT_NAMES) or set(self.addresses) != {*INPUT_NAMES, OUTPUT_NAME}:
            return False
        shape = self.shapes[INPUT_NAMES[0]]
        if any(self.shapes[name] != shape for name in INPUT_NAMES):
            return False
        inputs = [self.addresses[name] for name in INPUT_NAMES]
        output = self.addresses[OUTPUT_NAME]
        dtype = _NUMPY[self.engine.spec.dtypes.get(INPUT_NAMES[0], DataType.FLOAT)]
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        done = [False]

        def run() -> None:
            frames = [cuda.device_bytes(p, nbytes).view(dtype).astype(np.float32) for p in inputs]
            cuda.device_bytes(output, nbytes)[:] = weighted(frames).astype(dtype).view(np.uint8)
            done[0] = True

        self.engine.batches.append(shape[0])
        self.in_flight = (stream_handle, me, done)
        cuda.enqueue(cuda.streams[stream_handle], "launch", run)
        if self.profiler is not None:
            self.profiler.report_layer_time("weighted_sum", 1.0)
        return True


class FakeRuntimeCache:
    def __init__(self) -> None:
        self.data = b"runtime cache v0"

    def deserialize(self, data: bytes) -> None:
        self.data = bytes(data)

    def serialize(self) -> bytes:
        return self.data + b"+"


class FakeRuntimeConfig:
    def __init__(self) -> None:
        self.cache: FakeRuntimeCache | None = None

    def create_runtime_cache(self) -> FakeRuntimeCache:
        return FakeRuntimeCache()

    def set_runtime_cache(self, cache: FakeRuntimeCache) -> None:
        self.cache = cache


class FakeEngine:
    def __init__(self, cuda: FakeCuda, spec: EngineSpec) -> None:
        self.cuda, self.spec = cuda, spec
        self.contexts: list[FakeContext] = []
        self.violations: list[str] = []
        self.batches: list[int] = []

    def fail(self, message: str) -> None:
        self.violations.append(message)
        raise ContractViolation(message)

    def get_tensor_profile_shape(self, name: str, profile: int):
        assert profile == 0 and name in INPUT_NAMES
        (n0, h0, w0), (n1, h1, w1) = self.spec.min, self.spec.max
        return [(n0, 3, h0, w0), (n1, 3, h1, w1), (n1, 3, h1, w1)]

    def get_tensor_dtype(self, name: str) -> DataType:
        return self.spec.dtypes.get(name, DataType.FLOAT)

    def get_tensor_format(self, name: str) -> TensorFormat:
        return self.spec.formats.get(name, TensorFormat.LINEAR)

    def create_execution_context(self, config: FakeRuntimeConfig | None = None) -> FakeContext | None:
        if len(self.contexts) >= self.spec.max_contexts:
            return None
        self.contexts.append(FakeContext(self))
        return self.contexts[-1]

    def create_runtime_config(self) -> FakeRuntimeConfig:
        return FakeRuntimeConfig()


class FakeTensorRT(types.ModuleType):
    """Installed as ``sys.modules['tensorrt']`` (or ``tensorrt_rtx``); engines by file content."""

    DataType = DataType
    TensorFormat = TensorFormat
    IProfiler = IProfiler

    def __init__(self, cuda: FakeCuda, name: str = "tensorrt", version: str = "10.16.1") -> None:
        super().__init__(name)
        self.__spec__ = importlib.machinery.ModuleSpec(name, None)
        self.__version__ = version
        self.cuda = cuda
        self.specs: dict[bytes, EngineSpec] = {}
        self.engines: list[FakeEngine] = []
        module = self

        class Logger:
            WARNING = 2

            def __init__(self, severity: int) -> None:
                self.severity = severity

        class Runtime:
            def __init__(self, logger: Logger) -> None:
                self.logger = logger

            def deserialize_cuda_engine(self, data: bytes) -> FakeEngine | None:
                spec = module.specs.get(bytes(data))
                if spec is None:
                    return None
                module.engines.append(FakeEngine(module.cuda, spec))
                return module.engines[-1]

        self.Logger, self.Runtime = Logger, Runtime

    def add_engine(self, data: bytes, spec: EngineSpec) -> None:
        self.specs[data] = spec
