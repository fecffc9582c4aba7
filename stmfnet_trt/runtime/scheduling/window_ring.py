"""The windows waiting for the backend, as views into one ring of frames on the host.

Consecutive windows share three of their four frames; copying each window into a batch copied
every frame four times (100 MB per 1080p float32 window). Here each frame is copied once, into
the slot ``frame_ring.FrameRing`` gives its entry, and a batch of windows that follow each other
(each one entry after the last: the usual case) is a strided view of the ring, no copy at all. A
batch whose windows do not follow each other (a scene cut or a copied pair between them) is
gathered into an array of its own, as before. The slots are in the memory layout of the frames:
decoded frames, (H, W, 3) in memory, stay so, and nothing is transposed on the way.

The ring holds uint8 while every frame is uint8 (decoded frames, a quarter of the bytes) and
turns float32 at the first float frame (an interpolated one, at x4 and x8), converting what it
holds (``model_values``: the values the backend would have read).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stmfnet_trt.core.frame_pool import empty_frames
from stmfnet_trt.core.frames import model_values
from stmfnet_trt.runtime.backend import WINDOW_FRAMES
from stmfnet_trt.runtime.scheduling.frame_ring import FrameRing


class WindowRing:
    """Frames of the windows placed since the last batch, in a ring of ``5 * max_batch + 3`` slots.

    ``place`` each window (its four frames and their stream indices), take them as one array with
    ``batch``, then ``release`` them before placing more: the ring is rewritten by the next
    windows, so a batch is valid until then.
    """

    def __init__(self, max_batch: int) -> None:
        # Gathered batches: up to max_batch windows of four new entries each wait at once.
        self._entries = FrameRing(WINDOW_FRAMES * max_batch + 1, max_batch)
        self._slots: np.ndarray | None = None  # (slots, *frame shape), in the first frame's layout
        self._starts: list[int] = []  # first entry of each placed window

    def place(self, window: Sequence[np.ndarray], ids: Sequence[int]) -> None:
        """Copy in the frames of ``window`` (stream indices ``ids``) that the ring lacks."""
        start, fills = self._entries.place(ids)
        for fill in fills:
            frame = window[fill.position]
            slots = self._slots_for(frame)
            if fill.copy_from is not None:
                slots[fill.slot] = slots[fill.copy_from]
            elif slots.dtype == frame.dtype:
                slots[fill.slot] = frame
            else:
                slots[fill.slot] = model_values(frame)
            if fill.mirror is not None:
                slots[fill.mirror] = slots[fill.slot]
        self._starts.append(start)

    def _slots_for(self, frame: np.ndarray) -> np.ndarray:
        """The ring, allocated for the first frame and turned float at the first float frame."""
        if self._slots is None:
            self._slots = empty_frames((self._entries.slots,), frame, frame.dtype)
        elif self._slots.dtype != frame.dtype and self._slots.dtype == np.uint8:
            self._slots = model_values(self._slots)
        elif self._slots.dtype != frame.dtype and frame.dtype != np.uint8:
            self._slots = self._slots.astype(np.result_type(self._slots, frame))
        return self._slots

    def batch(self) -> np.ndarray:
        """The placed windows as an (N, 4, *frame shape) array: a read-only view of the ring when
        they follow each other, else a gathered copy."""
        starts, slots = self._starts, self._slots
        capacity = self._entries.capacity
        if starts == list(range(starts[0], starts[0] + len(starts))):
            first = slots[starts[0] % capacity]
            step = slots.strides[0]
            return np.lib.stride_tricks.as_strided(
                first,
                (len(starts), WINDOW_FRAMES, *first.shape),
                (step, step, *first.strides),
                writeable=False,
            )
        gathered = empty_frames((len(starts), WINDOW_FRAMES), slots[0], slots.dtype)
        for window, start in zip(gathered, starts, strict=True):
            window[...] = slots[start % capacity : start % capacity + WINDOW_FRAMES]
        return gathered

    def release(self) -> None:
        """The placed windows were read: their slots may be rewritten by the next ones."""
        starts = self._starts
        if starts == list(range(starts[0], starts[0] + len(starts))):
            self._entries.launched(starts[0], len(starts), 0)
        else:
            for start in starts:
                self._entries.launched(start, 1, 0)
        starts.clear()
