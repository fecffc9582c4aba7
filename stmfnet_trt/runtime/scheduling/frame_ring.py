"""Where each frame of the windows lives in a ring of slots, and when a slot may be reused. Pure
logic: the TensorRT pipeline's device ring and the host's ``window_ring`` both place frames with it.

The ring is a sequence of *entries* (frames in the order windows need them) stored in ``capacity``
device slots, entry ``e`` in slot ``e % capacity``. A window of frames (a, b, c, d) occupies four
consecutive entries, and consecutive windows share three, so sliding by one frame appends one
entry: each frame is uploaded once. A batch of N consecutive windows reads N + 3 consecutive
entries, and its inputs frame0..frame3 are the runs of N slots starting at the batch's first
entry + 0..3: the engine reads them in place, no gather. So that such a run never wraps, the
first ``max_batch + 2`` slots are mirrored after the ring (a device-to-device copy).

A repeated edge frame (clip ends, scene cuts) becomes an extra entry copied on the device from
the entry that already holds that frame. A slot may be overwritten only after the last launch
that reads it has completed: each fill names that launch, and the pipeline makes the upload
stream wait for its event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Fill:
    """One entry written into the ring.

    ``position``: which of the window's four frames it is (for the host array to upload).
    ``copy_from``: a slot already holding this frame (device copy) or None (upload from host).
    ``mirror``: a second slot to copy it into, or None.
    ``after_launch``: the launch that must complete before ``slot``/``mirror`` are written.
    """

    entry: int
    frame: int
    position: int
    slot: int
    copy_from: int | None
    mirror: int | None
    after_launch: int | None


class FrameRing:
    """Entries -> slots, reuse rules and the readers of every slot."""

    def __init__(self, capacity: int, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.mirrored = max_batch + 2
        # A pending (unlaunched) batch and the window being placed span at most max_batch + 3
        # entries; one more slot keeps the entry being evicted out of that span.
        if capacity < max_batch + 4:
            raise ValueError(f"capacity {capacity} < max_batch + 4 = {max_batch + 4}")
        self.capacity = capacity
        self.max_batch = max_batch
        self.frames: dict[int, int] = {}  # live entry -> frame id
        self.next_entry = 0
        self.last_reader: dict[int, int] = {}  # slot (< capacity) -> launch id
        self.unlaunched_from: int | None = None  # oldest entry a placed, unlaunched window reads

    @property
    def slots(self) -> int:
        """Slots to allocate: the ring plus its mirrored head."""
        return self.capacity + self.mirrored

    def overlap(self, ids: Sequence[int]) -> int:
        """How many of the window's leading frames the newest entries already hold (0-3)."""
        for shared in (3, 2, 1):
            tail = [self.frames.get(self.next_entry - shared + i) for i in range(shared)]
            if tail == list(ids[:shared]):
                return shared
        return 0

    def place(self, ids: Sequence[int]) -> tuple[int, list[Fill]]:
        """Append the entries window ``ids`` still lacks; return its first entry and the fills."""
        shared = self.overlap(ids)
        fills = [self._fill(frame, position) for position, frame in enumerate(ids) if position >= shared]
        start = self.next_entry - 4
        if self.unlaunched_from is None:
            self.unlaunched_from = start
        return start, fills

    def _fill(self, frame: int, position: int) -> Fill:
        entry = self.next_entry
        evicted = entry - self.capacity
        if self.unlaunched_from is not None and evicted >= self.unlaunched_from:
            raise AssertionError(f"entry {evicted} is still needed by an unlaunched window")
        slot = entry % self.capacity
        self.frames.pop(evicted, None)
        holders = [e for e, f in self.frames.items() if f == frame]
        copy_from = max(holders) % self.capacity if holders else None
        self.frames[entry] = frame
        self.next_entry += 1
        mirror = self.capacity + slot if slot < self.mirrored else None
        return Fill(entry, frame, position, slot, copy_from, mirror, self.last_reader.get(slot))

    def input_slots(self, start: int) -> list[int]:
        """First slot of frame0..frame3's runs for a batch whose first window starts at ``start``."""
        return [start % self.capacity + k for k in range(4)]

    def launched(self, start: int, windows: int, launch: int) -> None:
        """Record that ``launch`` reads the entries of ``windows`` windows from ``start``."""
        if not 1 <= windows <= self.max_batch:
            raise ValueError(f"a launch holds 1..{self.max_batch} windows, got {windows}")
        for entry in range(start, start + windows + 3):
            self.last_reader[entry % self.capacity] = launch
        self.unlaunched_from = None


class WindowBatcher:
    """Groups windows into launches: consecutive first entries, at most ``max_batch`` each."""

    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self.start: int | None = None
        self.count = 0

    def continues(self, start: int) -> bool:
        """Whether a window at ``start`` extends the open batch (else flush it first)."""
        return self.start is not None and start == self.start + self.count and self.count < self.max_batch

    def add(self, start: int) -> int:
        """Add a window (``continues`` checked by the caller); return its index in the batch."""
        if self.start is None:
            self.start = start
        self.count += 1
        return self.count - 1

    @property
    def full(self) -> bool:
        return self.count >= self.max_batch

    def take(self) -> tuple[int, int] | None:
        """Close the open batch: (first entry, windows), or None when it is empty."""
        if self.start is None:
            return None
        batch = (self.start, self.count)
        self.start, self.count = None, 0
        return batch
