"""One x2 level with frames kept on the GPU: decode, upload, infer, download and encode overlap.

Threads: a decode thread pulls frames (and runs scene-cut detection) ahead of a feeder thread
that pads each frame once into pinned staging memory, uploads it into the device frame ring
(``frame_ring``) on the upload stream and launches batches of consecutive windows on the compute
stream; the caller's thread (the encoder) waits for each batch's download event and yields
frames. Events order the streams: a launch waits for the uploads it reads, an upload into a
slot waits for the last launch that read the slot, staging memory is rewritten only after its
upload finished, an output set is reused only after the encoder took its frames.

Padding happens on the host, once per frame, straight into pinned memory (the engine's contract
wants H, W multiples of 128): the per-batch path pads each frame once per window instead (4x).

The frames out are the scheduler's (``scheduler.pairs`` / ``needs_window`` decide windows,
copies, cuts), so runs match every other backend frame for frame. On an integrated GPU (Jetson)
staging and output memory are mapped pinned memory: the engine writes its output straight into
host-visible memory and the download copy disappears.

Tested bit for bit against the scheduler with a fake CUDA binding that runs queued work only when
the host waits, in an adversarial stream order (tests/runtime/cuda/test_trt_pipeline.py), so a
missing event wait corrupts frames there. On a GPU, the ``gpu``/``tensorrt``-marked test in
tests/runtime/backends/test_tensorrt_backend.py compares it with ONNX Runtime.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from stmfnet_trt.core.contract import pad_to_multiple, padded_size
from stmfnet_trt.core.errors import Param, UserError
from stmfnet_trt.runtime.cuda.binding import CudaBinding, HostBuffer
from stmfnet_trt.runtime.scheduling.frame_ring import Fill, FrameRing, WindowBatcher
from stmfnet_trt.runtime.scheduling.handoff import END, Failure, get_unless_stopped, put_unless_stopped
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import (
    SchedulerStats,
    checked_frames,
    needs_window,
    pairs,
    settled,
)

# The engine's I/O is FP32 linear NCHW: TensorRTBackend checks that before any run.
FLOAT_BYTES = np.dtype(np.float32).itemsize
STAGING_BUFFERS = 4
OUTPUT_SETS = 3
DECODE_AHEAD = 8


class Launcher(Protocol):
    """Runs the engine on device tensors: four (N, 3, H, W) inputs -> one output, on ``stream``."""

    def launch(self, stream: Any, inputs: Sequence[int], output: int, batch: int, height: int, width: int):
        """Enqueue one inference; returns nothing, raises on failure."""


@dataclass
class _OutputSet:
    """Device output, its pinned host copy (or mapped memory), and the events around them."""

    device: int
    host: HostBuffer
    computed: Any
    downloaded: Any


@dataclass(frozen=True)
class _Slot:
    """A window's place ``index`` in the open batch, with its inner frames: the fallback of a
    diverged output (``scheduler.settled``)."""

    index: int
    first: np.ndarray
    second: np.ndarray


@dataclass(frozen=True)
class _Result:
    """Window ``slot`` of the batch in output set ``output``; ``last`` releases the set."""

    output: int
    slot: _Slot
    last: bool


class _Stopped(Exception):
    """The encoder went away; the feeder ends quietly."""


def idle_fraction(intervals: Sequence[tuple[float, float]]) -> float:
    """Share of the span from the first launch's start to the last's end with no launch running."""
    if not intervals:
        return 0.0
    ordered = sorted(intervals)
    busy, cursor = 0.0, ordered[0][0]
    for start, end in ordered:
        busy += max(0.0, end - max(start, cursor))
        cursor = max(cursor, end)
    span = max(end for _, end in ordered) - ordered[0][0]
    return 0.0 if span <= 0 else 1.0 - busy / span


class DeviceFramePipeline:
    """Device ring, staging, streams and events for frames of one size; reused level after level."""

    def __init__(
        self,
        binding: CudaBinding,
        launcher: Launcher,
        height: int,
        width: int,
        max_batch: int,
        mapped: bool = False,
        measure: bool = False,
        capacity: int | None = None,
    ) -> None:
        """``capacity``: ring slots (default: two launches' frames, so uploads run ahead)."""
        self.binding, self.launcher = binding, launcher
        self.height, self.width = height, width
        self.padded = (padded_size(height), padded_size(width))
        self.max_batch, self.mapped, self.measure = max_batch, mapped, measure
        self.frame_bytes = 3 * self.padded[0] * self.padded[1] * FLOAT_BYTES
        self.capacity = capacity or 2 * (max_batch + 3) + 2
        slots = self.capacity + max_batch + 2
        self.ring_base = binding.malloc(slots * self.frame_bytes)
        self.upload, self.compute = binding.stream_create(), binding.stream_create()
        self.uploads_done = binding.event_create()
        frame_shape = (3, *self.padded)
        self.staging = [binding.host_alloc(frame_shape, np.float32, mapped) for _ in range(STAGING_BUFFERS)]
        self.staged = [binding.event_create() for _ in self.staging]
        self.outputs = [self._output_set() for _ in range(OUTPUT_SETS)]
        self.timings: list[tuple[Any, Any]] = []

    def _output_set(self) -> _OutputSet:
        shape = (self.max_batch, 3, *self.padded)
        host = self.binding.host_alloc(shape, np.float32, self.mapped)
        device = host.device_pointer if self.mapped else self.binding.malloc(host.array.nbytes)
        return _OutputSet(device, host, self.binding.event_create(), self.binding.event_create())

    def slot_pointer(self, slot: int) -> int:
        return self.ring_base + slot * self.frame_bytes

    def double_frame_rate(
        self, frames: Iterable[np.ndarray], detector: SceneCutDetector, stats: SchedulerStats
    ) -> Iterator[np.ndarray]:
        """The scheduler's x2 level for this frame size (see the module docstring)."""
        stop = threading.Event()
        decoded: queue.Queue = queue.Queue(DECODE_AHEAD)
        results: queue.Queue = queue.Queue(4 * OUTPUT_SETS * self.max_batch + 8)
        free: queue.Queue = queue.Queue()
        for index in range(OUTPUT_SETS):
            free.put(index)
        source = pairs(iter(checked_frames(frames)), detector)
        workers = [
            threading.Thread(target=_produce, args=(self.binding, source, decoded, stop), daemon=True),
            threading.Thread(target=self._feed, args=(decoded, results, free, stats, stop), daemon=True),
        ]
        for worker in workers:
            worker.start()
        try:
            yield from self._drain(results, free, stats)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
            self.binding.stream_synchronize(self.upload)
            self.binding.stream_synchronize(self.compute)

    def _drain(self, results: queue.Queue, free: queue.Queue, stats: SchedulerStats) -> Iterator[np.ndarray]:
        """Encoder side: frames in order; each batch's frames once its download completed.

        Settles each raw output (clamp, or the blend where it diverged) as the scheduler does."""
        waited: set[int] = set()
        height, width = self.height, self.width
        while (item := results.get()) is not END:
            if isinstance(item, Failure):
                raise item.error
            if not isinstance(item, _Result):
                yield item
                continue
            output = self.outputs[item.output]
            if item.output not in waited:
                self.binding.event_synchronize(output.downloaded)
                waited.add(item.output)
            slot = item.slot
            yield settled(output.host.array[slot.index, :, :height, :width], slot.first, slot.second, stats)
            if item.last:
                waited.discard(item.output)
                free.put(item.output)

    def _feed(
        self,
        decoded: queue.Queue,
        results: queue.Queue,
        free: queue.Queue,
        stats: SchedulerStats,
        stop: threading.Event,
    ) -> None:
        """Feeder thread: place windows in the ring, upload, launch, queue frames in order."""
        try:
            self.binding.make_current()
            _Feeder(self, results, free, stop).run(decoded, stats)
        except _Stopped:
            return
        except BaseException as error:  # handed to the encoder thread, which raises it
            put_unless_stopped(results, Failure(error), stop)
        finally:
            self.binding.release_thread()

    def close(self) -> None:
        binding = self.binding
        binding.free(self.ring_base)
        for buffer in self.staging:
            binding.host_free(buffer)
        for output in self.outputs:
            if not self.mapped:
                binding.free(output.device)
            binding.host_free(output.host)
            binding.event_destroy(output.computed)
            binding.event_destroy(output.downloaded)
        for event in (*self.staged, self.uploads_done):
            binding.event_destroy(event)
        for start, end in self.timings:
            binding.event_destroy(start)
            binding.event_destroy(end)
        binding.stream_destroy(self.upload)
        binding.stream_destroy(self.compute)

    def launch_intervals(self) -> list[tuple[float, float]]:
        """(start, end) ms of every launch since the first, from timing events (``measure``)."""
        if not self.timings:
            return []
        origin = self.timings[0][0]
        return [
            (self.binding.event_elapsed_ms(origin, s), self.binding.event_elapsed_ms(origin, e))
            for s, e in self.timings
        ]


class _Feeder:
    """The feeder thread's state for one level: ring, batcher, staging round-robin, launches."""

    def __init__(self, pipeline: DeviceFramePipeline, results: queue.Queue, free: queue.Queue, stop) -> None:
        self.p, self.results, self.free, self.stop = pipeline, results, free, stop
        self.ring = FrameRing(pipeline.capacity, pipeline.max_batch)
        self.batcher = WindowBatcher(pipeline.max_batch)
        self.pending: list[np.ndarray | _Slot] = []
        self.staging_turn = 0
        self.launch_sets: list[int] = []  # launch id -> output set it wrote

    def run(self, decoded: queue.Queue, stats: SchedulerStats) -> None:
        while (item := get_unless_stopped(decoded, self.stop)) is not END:
            if isinstance(item, Failure):
                raise item.error
            if isinstance(item, np.ndarray):  # the last frame, twice (the scheduler's rule)
                self.pending += [item, item]
                break
            self.pending.append(item.first)
            if not needs_window(item, stats):
                self.pending.append(item.first)
                continue
            start = self.ring.next_entry - self.ring.overlap(item.ids)
            if self.batcher.count and not self.batcher.continues(start):
                self.flush()
            start, fills = self.ring.place(item.ids)
            for fill in fills:
                self.fill(fill, item.window)
            self.pending.append(_Slot(self.batcher.add(start), item.first, item.second))
            if self.batcher.full:
                self.flush()
        self.flush()
        put_unless_stopped(self.results, END, self.stop)

    def fill(self, fill: Fill, window: Sequence[np.ndarray]) -> None:
        p, binding = self.p, self.p.binding
        if fill.after_launch is not None:
            binding.stream_wait_event(p.upload, p.outputs[self.launch_sets[fill.after_launch]].computed)
        target = p.slot_pointer(fill.slot)
        if fill.copy_from is not None:
            binding.copy_d2d(target, p.slot_pointer(fill.copy_from), p.frame_bytes, p.upload)
        else:
            turn = self.staging_turn % len(p.staging)
            self.staging_turn += 1
            buffer = p.staging[turn]
            binding.event_synchronize(p.staged[turn])  # its previous upload has read it
            buffer.array[...] = pad_to_multiple(window[fill.position])
            if p.mapped:
                binding.copy_d2d(target, buffer.device_pointer, p.frame_bytes, p.upload)
            else:
                binding.copy_h2d(target, buffer.pointer, p.frame_bytes, p.upload)
            binding.event_record(p.staged[turn], p.upload)
        if fill.mirror is not None:
            binding.copy_d2d(p.slot_pointer(fill.mirror), target, p.frame_bytes, p.upload)

    def flush(self) -> None:
        """Launch the open batch, then queue every frame waiting for it, in order."""
        batch = self.batcher.take()
        output = self.launch(*batch) if batch is not None else -1
        for item in self.pending:
            if isinstance(item, _Slot):
                item = _Result(output, item, last=item.index == batch[1] - 1)
            put_unless_stopped(self.results, item, self.stop)
        self.pending.clear()

    def launch(self, start: int, count: int) -> int:
        """Enqueue one batch (waits for a free output set); returns the output set's index."""
        p, binding = self.p, self.p.binding
        output_index = get_unless_stopped(self.free, self.stop)
        if output_index is END:
            raise _Stopped
        output = p.outputs[output_index]
        binding.event_record(p.uploads_done, p.upload)
        binding.stream_wait_event(p.compute, p.uploads_done)
        inputs = [p.slot_pointer(slot) for slot in self.ring.input_slots(start)]
        timing = (binding.event_create(True), binding.event_create(True)) if p.measure else None
        if timing:
            binding.event_record(timing[0], p.compute)
        p.launcher.launch(p.compute, inputs, output.device, count, *p.padded)
        if timing:
            binding.event_record(timing[1], p.compute)
            p.timings.append(timing)
        binding.event_record(output.computed, p.compute)
        if not p.mapped:
            binding.copy_d2h(output.host.pointer, output.device, count * p.frame_bytes, p.compute)
        binding.event_record(output.downloaded, p.compute)
        self.ring.launched(start, count, len(self.launch_sets))
        self.launch_sets.append(output_index)
        return output_index


def _produce(
    binding: CudaBinding, source: Iterator[Any], decoded: queue.Queue, stop: threading.Event
) -> None:
    """Decode thread: read frames and pairs ahead of the feeder.

    In an x4/x8 run the source is the previous level, whose frames come off the GPU on this
    thread, so the binding's context is made current here too.
    """
    try:
        binding.make_current()
        for item in source:
            if not put_unless_stopped(decoded, item, stop):
                return
        put_unless_stopped(decoded, END, stop)
    except BaseException as error:
        put_unless_stopped(decoded, Failure(error), stop)
    finally:
        binding.release_thread()


def pipelined_level(
    binding: CudaBinding,
    launcher: Launcher,
    frames: Iterable[np.ndarray],
    detector: SceneCutDetector,
    max_batch: int,
    stats: SchedulerStats,
    mapped: bool = False,
    capacity: int | None = None,
) -> Iterator[np.ndarray]:
    """One x2 level through a pipeline sized by the first frame, freed when the level ends.

    Each level of an x4/x8 run gets its own ring: the levels run at the same time, chained.
    """
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        return
    height, width = first.shape[-2:]
    try:
        pipeline = DeviceFramePipeline(binding, launcher, height, width, max_batch, mapped, capacity=capacity)
    except MemoryError as error:
        raise UserError(
            f"{error}: the frame ring for {width}x{height} frames, batch {max_batch}, does not fit in "
            "GPU memory; use a smaller ",
            Param("batch_size"),
            " or tiling (",
            Param("tiles"),
            ")",
        ) from error
    try:
        yield from pipeline.double_frame_rate(itertools.chain([first], frames), detector, stats)
    finally:
        pipeline.close()
