"""A fake ``CudaBinding`` that runs streams lazily and adversarially, to test event ordering.

Nothing runs when enqueued: operations wait in per-stream queues until the host synchronizes,
then run one at a time, always from the highest-priority stream that is not blocked by an event
wait (``priority``: stream indices, first = most eager). Host memory is read when a copy *runs*,
as on a GPU, so a staging buffer rewritten too early, a slot overwritten before its reader ran,
or a launch that does not wait for its uploads all corrupt the output and fail the tests.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stmfnet_trt.runtime.cuda.binding import CudaBinding, HostBuffer, host_view

FAKE_BASE = 1 << 44


@dataclass
class FakeEvent:
    recorded: int = 0
    done: int = 0


@dataclass
class FakeStream:
    index: int
    ops: deque = field(default_factory=deque)  # (blocked_until: (event, generation) | None, run)


class FakeCuda(CudaBinding):
    name = "fake"

    def __init__(self, priority: str = "upload-first", integrated: bool = False) -> None:
        self.lock = threading.RLock()
        self.priority = priority
        self.integrated = integrated
        self.allocations: dict[int, np.ndarray] = {}
        self.next_address = FAKE_BASE
        self.streams: list[FakeStream] = []
        self.calls: list[tuple[str, int]] = []  # (call, stream index) as enqueued

    # memory
    def device_info(self) -> dict[str, Any]:
        return {"gpu": "fake", "compute_capability": "8.7", "integrated": self.integrated, "free_bytes": 1}

    def _register(self, array: np.ndarray) -> int:
        address = self.next_address
        self.next_address += array.nbytes + 4096
        self.allocations[address] = array
        return address

    def malloc(self, nbytes: int) -> int:
        with self.lock:
            return self._register(np.full(nbytes, 0xFF, np.uint8))  # NaN-ish garbage, not zeros

    def free(self, pointer: int) -> None:
        with self.lock:
            del self.allocations[pointer]

    def device_bytes(self, pointer: int, nbytes: int) -> np.ndarray:
        for base, array in self.allocations.items():
            if base <= pointer and pointer + nbytes <= base + array.nbytes:
                return array[pointer - base : pointer - base + nbytes]
        raise AssertionError(f"device access outside any allocation: {pointer:#x}+{nbytes}")

    def host_alloc(self, shape, dtype, mapped: bool = False) -> HostBuffer:
        array = np.zeros(shape, dtype)
        with self.lock:
            device = self._register(array.reshape(-1).view(np.uint8)) if mapped else 0
        return HostBuffer(array, array, device)

    def host_free(self, buffer: HostBuffer) -> None:
        if buffer.device_pointer:
            self.free(buffer.device_pointer)

    # streams and events
    def stream_create(self) -> FakeStream:
        with self.lock:
            self.streams.append(FakeStream(len(self.streams)))
            return self.streams[-1]

    def stream_handle(self, stream: FakeStream) -> int:
        return stream.index

    def stream_destroy(self, stream: FakeStream) -> None:
        assert not stream.ops, "stream destroyed with work queued"

    def enqueue(self, stream: FakeStream, call: str, run: Callable[[], None], wait=None) -> None:
        with self.lock:
            self.calls.append((call, stream.index))
            stream.ops.append((wait, run))

    def stream_wait_event(self, stream: FakeStream, event: FakeEvent) -> None:
        self.enqueue(stream, "wait", lambda: None, (event, event.recorded))

    def event_create(self, timing: bool = False) -> FakeEvent:
        return FakeEvent()

    def event_destroy(self, event: FakeEvent) -> None:
        pass

    def event_record(self, event: FakeEvent, stream: FakeStream) -> None:
        with self.lock:
            event.recorded += 1
            generation = event.recorded

            def mark() -> None:
                event.done = max(event.done, generation)

            self.enqueue(stream, "record", mark)

    def event_synchronize(self, event: FakeEvent) -> None:
        with self.lock:
            self._run_until(lambda: event.done >= event.recorded)

    def stream_synchronize(self, stream: FakeStream) -> None:
        with self.lock:
            self._run_until(lambda: not stream.ops)

    def event_elapsed_ms(self, start: FakeEvent, end: FakeEvent) -> float:
        return 0.0

    def _run_until(self, done: Callable[[], bool]) -> None:
        order = self.streams if self.priority == "upload-first" else self.streams[::-1]
        while not done():
            for stream in order:
                if stream.ops:
                    wait, run = stream.ops[0]
                    if wait is None or wait[0].done >= wait[1]:
                        stream.ops.popleft()
                        run()
                        break
            else:
                raise AssertionError("deadlock: the host waits for work that can never run")

    # copies
    def copy_h2d(self, device: int, host: int, nbytes: int, stream) -> None:
        def run() -> None:
            self.device_bytes(device, nbytes)[:] = host_view(host, (nbytes,), np.uint8)

        self.enqueue(stream, "h2d", run)

    def copy_d2h(self, host: int, device: int, nbytes: int, stream) -> None:
        def run() -> None:
            host_view(host, (nbytes,), np.uint8)[:] = self.device_bytes(device, nbytes)

        self.enqueue(stream, "d2h", run)

    def copy_d2d(self, destination: int, source: int, nbytes: int, stream) -> None:
        def run() -> None:
            self.device_bytes(destination, nbytes)[:] = self.device_bytes(source, nbytes).copy()

        self.enqueue(stream, "d2d", run)


WEIGHTS = np.array([0.1, 0.4, 0.35, 0.15], np.float32)


class FakeLauncher:
    """The 'engine': a fixed weighted sum of the four frames, read from and written to the ring;
    ``gain`` scales it (> 1.5 makes bright windows leave [0, 1] like a diverged network)."""

    def __init__(self, cuda: FakeCuda, gain: float = 1.0) -> None:
        self.cuda, self.gain = cuda, gain
        self.batches: list[int] = []

    def launch(self, stream, inputs, output, batch, height, width) -> None:
        nbytes = batch * 3 * height * width * 4
        self.batches.append(batch)

        def run() -> None:
            frames = [self.cuda.device_bytes(p, nbytes).view(np.float32) for p in inputs]
            self.cuda.device_bytes(output, nbytes)[:] = weighted(frames, self.gain).view(np.uint8)

        self.cuda.enqueue(stream, "launch", run)


def weighted(frames, gain: float = 1.0) -> np.ndarray:
    """The fake engine's arithmetic, shared with the reference backend so results match bitwise."""
    result = WEIGHTS[0] * frames[0]
    for weight, frame in zip(WEIGHTS[1:], frames[1:], strict=True):
        result = result + weight * frame
    return (np.float32(gain) * result).astype(np.float32)
