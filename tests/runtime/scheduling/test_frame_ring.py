"""Frame ring: slot assignment, mirrors, device copies of repeated frames, reuse waits, batching."""

from __future__ import annotations

import pytest

from stmfnet_trt.runtime.scheduling.frame_ring import FrameRing, WindowBatcher


def test_sliding_windows_append_one_entry_each_and_read_in_place():
    ring = FrameRing(capacity=7, max_batch=2)
    start, fills = ring.place((0, 0, 1, 2))  # clip start: frame 0 repeated
    assert start == 0 and [(f.frame, f.copy_from) for f in fills] == [(0, None), (0, 0), (1, None), (2, None)]
    start, fills = ring.place((0, 1, 2, 3))
    assert start == 1 and [(f.entry, f.frame, f.slot) for f in fills] == [(4, 3, 4)]
    assert ring.input_slots(start) == [1, 2, 3, 4]


def test_head_slots_are_mirrored_so_a_batch_never_wraps():
    ring = FrameRing(capacity=6, max_batch=2)
    mirrors = []
    for i in range(1, 6):
        start, fills = ring.place((i - 1, i, i + 1, i + 2))
        ring.launched(start, 1, launch=i)
        mirrors.append(fills[-1].mirror)
    assert ring.slots == 10
    assert mirrors[-2:] == [6 + 0, 6 + 1]  # entries 6 and 7 -> slots 0 and 1, mirrored at 6 and 7
    assert ring.input_slots(5) == [5, 6, 7, 8]  # entries 5..10: slots 5, then mirrors of 0..2


def test_overwriting_a_slot_waits_for_its_last_reader():
    ring = FrameRing(capacity=5, max_batch=1)
    for i in range(1, 3):
        start, _ = ring.place((i - 1, i, i + 1, i + 2))
        ring.launched(start, 1, launch=i - 1)
    _, fills = ring.place((2, 3, 4, 5))
    assert fills[-1].slot == 0 and fills[-1].after_launch == 0  # slot 0 last read by launch 0
    with pytest.raises(ValueError):
        FrameRing(capacity=4, max_batch=1)


def test_evicting_an_entry_an_unlaunched_window_needs_is_refused():
    ring = FrameRing(capacity=6, max_batch=2)
    ring.place((0, 1, 2, 3))
    ring.place((1, 2, 3, 4))
    with pytest.raises(AssertionError, match="unlaunched"):
        ring.place((10, 11, 12, 13))  # 4 new entries: the 2nd evicts entry 0


def test_batcher_groups_consecutive_windows_up_to_max_batch():
    batcher = WindowBatcher(max_batch=3)
    assert not batcher.continues(5)
    assert [batcher.add(s) for s in (5, 6)] == [0, 1]
    assert batcher.continues(7) and not batcher.continues(9)
    batcher.add(7)
    assert batcher.full and not batcher.continues(8)
    assert batcher.take() == (5, 3) and batcher.take() is None
