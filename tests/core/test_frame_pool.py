"""Frame-sized arrays from the pool: fresh to the caller, their memory reused only once every view
of them is gone (whichever thread drops it), and laid out like the frame they are made for."""

from __future__ import annotations

import threading

import numpy as np

from stmfnet_trt.core.frame_pool import FramePool, empty_frames


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def test_memory_comes_back_only_when_the_last_view_is_gone():
    pool = FramePool(keep=2)
    frame = pool.empty((3, 72, 80), np.float32)
    frame[...] = 0.25
    view = frame.transpose(1, 2, 0)[::2]  # a view of a view: NumPy keeps the memory's owner alive
    first = address(frame)
    del frame
    other = pool.empty((3, 72, 80), np.float32)
    assert address(other) != first and np.all(view == 0.25)  # still in use through the view
    del view
    again = pool.empty((3, 72, 80), np.float32)
    assert address(again) == first  # the same memory, once nothing referred to it


def test_memory_dropped_on_another_thread_comes_back_and_sizes_do_not_mix():
    pool = FramePool(keep=2)
    frame = pool.empty((72, 80, 3), np.uint8)
    first = address(frame)
    worker = threading.Thread(target=lambda frames: frames.clear(), args=([frame],))
    del frame
    worker.start()
    worker.join()
    assert address(pool.empty((3, 72, 80), np.float32)) != first  # another size
    assert address(pool.empty((72, 80, 3), np.uint8)) == first


def test_the_stock_is_bounded():
    pool = FramePool(keep=1)
    frames = [pool.empty((16, 16), np.float32) for _ in range(3)]
    del frames  # three come back: one is kept, two are unmapped
    assert [len(stock) for stock in pool._stock.values()] == [1]


def test_empty_frames_keep_the_memory_layout_of_a_frame():
    picture = np.zeros((5, 7, 3), np.uint8).transpose(2, 0, 1)
    frames = empty_frames((2, 4), picture, np.float32)
    assert frames.shape == (2, 4, 3, 5, 7) and frames[0, 0].transpose(1, 2, 0).flags.c_contiguous
    pooled = empty_frames((1,), picture, np.float32, FramePool().empty)
    assert pooled.shape == (1, 3, 5, 7) and pooled[0].transpose(1, 2, 0).flags.c_contiguous
    assert empty_frames((3,), np.zeros((3, 5, 7), np.float32), np.float32).flags.c_contiguous
