"""The host frame ring: every batch equals the stack of its windows' frames, as views where the
windows follow each other, in the frames' own memory layout, and float once a float frame came."""

from __future__ import annotations

import numpy as np
import pytest

from stmfnet_trt.core.frames import model_values
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import pairs
from stmfnet_trt.runtime.scheduling.window_ring import WindowRing

SHAPE = (3, 24, 40)


def decoded(count: int, seed: int = 0) -> list[np.ndarray]:
    """uint8 frames as the scheduler gets them from a video: (3, H, W) views of (H, W, 3) pictures."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (*SHAPE[1:], 3), np.uint8).transpose(2, 0, 1) for _ in range(count)]


def windows_of(frames: list[np.ndarray]) -> list:
    """Every pair's window as the scheduler forms them, with a cut after frame 3 (a black frame)."""
    frames[4] = np.zeros_like(frames[4])
    return [item for item in pairs(iter(frames), SceneCutDetector()) if not isinstance(item, np.ndarray)]


@pytest.mark.parametrize("max_batch", [1, 2, 3, 5])
@pytest.mark.parametrize("skip", [(), (2,), (5, 6)])  # windows left out: copied pairs between batches
def test_every_batch_equals_the_stack_of_its_windows(max_batch, skip):
    windows = [w for i, w in enumerate(windows_of(decoded(12))) if i not in skip]
    ring = WindowRing(max_batch)
    for start in range(0, len(windows), max_batch):
        placed = windows[start : start + max_batch]
        for window in placed:
            ring.place(window.window, window.ids)
        batch = ring.batch()
        assert batch.dtype == np.uint8 and np.array_equal(
            batch, np.stack([np.stack(w.window) for w in placed])
        )
        ring.release()


def test_a_run_of_windows_is_read_in_the_frames_memory_layout_without_copies():
    frames = decoded(6)
    windows = [
        item
        for item in pairs(iter(frames), SceneCutDetector(enabled=False))
        if not isinstance(item, np.ndarray)
    ]
    ring = WindowRing(4)
    for window in windows[:4]:
        ring.place(window.window, window.ids)
    batch = ring.batch()
    assert not batch.flags.writeable  # a view of the ring
    assert batch.shape == (4, 4, *SHAPE) and batch.strides[2:] == frames[0].strides  # (H, W, 3) in memory
    assert np.shares_memory(batch[0, 1], batch[1, 0])  # one frame, one slot: windows share it


def test_the_ring_turns_float_at_the_first_float_frame_with_the_values_it_held():
    frames: list[np.ndarray] = decoded(8)
    frames[5] = model_values(frames[5]) * np.float32(0.9)  # an interpolated frame (x4's second level)
    windows = windows_of(frames)
    ring = WindowRing(2)
    for start in range(0, len(windows), 2):
        placed = windows[start : start + 2]
        for window in placed:
            ring.place(window.window, window.ids)
        batch = ring.batch()
        expected = np.stack([np.stack([model_values(f) for f in w.window]) for w in placed])
        any_float = any(f.dtype == np.float32 for w in windows[: start + 2] for f in w.window)
        assert batch.dtype == (np.float32 if any_float else np.uint8)
        assert np.array_equal(model_values(batch), expected)
        ring.release()
