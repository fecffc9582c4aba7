"""Frame-sized arrays whose memory is used again once nothing refers to them any more.

Each window of a run makes a float32 frame (24 MB at 1080p) and each interpolated frame a uint8
copy for the encoder; they live for a frame or two, on whichever thread uses them last. glibc
serves such blocks from fresh pages (mmap, or a heap that frees of mixed sizes on several threads
keep growing and trimming), and the kernel zeroes each page the first time it is written: 10-17 %
of a 1080p ``run --backend blend``'s CPU time, more when the machine's memory is fragmented
(measured: 5.43 s CPU, 1.18 of it system time, without this pool; 4.82 s, 0.38, with it). Here
each size has its own stock of anonymous mappings: an array is a view of one, exported through a
ctypes buffer that every view of the array keeps alive (NumPy collapses a view's base to the
exporter), and when the last view is gone, on any thread, the mapping goes back to the stock. The
stock is bounded: a mapping that finds it full is unmapped.
"""

from __future__ import annotations

import ctypes
import math
import mmap
import threading
import weakref
from collections.abc import Callable

import numpy as np

KEEP_PER_SIZE = 6  # mappings kept per size: the frames one size has in flight at once, and a few more


class FramePool:
    """Arrays of any shape whose memory comes back to the pool when the array (and every view of
    it) is gone."""

    def __init__(self, keep: int = KEEP_PER_SIZE) -> None:
        self._keep = keep
        self._stock: dict[int, list[mmap.mmap]] = {}
        self._lock = threading.Lock()  # mappings come back on whichever thread drops the last view

    def empty(self, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """An uninitialised C-contiguous array (its memory may have held an earlier frame)."""
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes == 0:
            return np.empty(shape, dtype)
        with self._lock:
            stock = self._stock.get(nbytes)
            memory = stock.pop() if stock else None
        if memory is None:
            memory = mmap.mmap(-1, nbytes)
        exporter = (ctypes.c_char * nbytes).from_buffer(memory)
        weakref.finalize(exporter, self._give_back, memory).atexit = False
        return np.frombuffer(exporter, dtype).reshape(shape)

    def _give_back(self, memory: mmap.mmap) -> None:
        """Runs as the exporter dies: ``memory`` goes back to the stock, or, with the stock full,
        is left to be unmapped once the exporter has released it."""
        with self._lock:
            stock = self._stock.setdefault(len(memory), [])
            if len(stock) < self._keep:
                stock.append(memory)


FRAMES = FramePool()


def empty_frames(
    leading: tuple[int, ...], frame: np.ndarray, dtype: np.dtype | type, allocate: Callable = np.empty
) -> np.ndarray:
    """An uninitialised ``leading + frame.shape`` array (from ``allocate``, e.g. ``FRAMES.empty``)
    whose frames have ``frame``'s memory layout: a (3, H, W) view of (H, W, 3) pixels gets frames
    that are (H, W, 3) in memory, so that copying or computing between them transposes nothing."""
    order = sorted(range(frame.ndim), key=lambda axis: -abs(frame.strides[axis]))  # outermost first
    storage = allocate((*leading, *(frame.shape[axis] for axis in order)), dtype)
    inverse = sorted(range(frame.ndim), key=order.__getitem__)
    return storage.transpose(*range(len(leading)), *(len(leading) + axis for axis in inverse))
