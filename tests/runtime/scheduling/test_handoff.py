"""Worker threads between decoding, scheduling and encoding: bounded, in order, failures raised
where the caller is, nothing left running once the block ends."""

from __future__ import annotations

import threading
import time

import pytest

from stmfnet_trt.runtime.scheduling.handoff import read_ahead, write_behind


def workers() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name in ("decode", "encode"))


def test_read_ahead_yields_every_item_in_order_and_stays_within_its_depth():
    produced: list[int] = []

    def items():
        for index in range(20):
            produced.append(index)
            yield index

    seen = []
    with read_ahead(items(), 3, "decode") as ahead:
        for item in ahead:
            time.sleep(0.005)  # a slow consumer: the worker fills the queue and waits
            # the queue (3), the item the worker holds while it waits, the one being consumed
            assert len(produced) - len(seen) <= 3 + 2
            seen.append(item)
    assert seen == list(range(20)) and workers() == []


def test_read_ahead_raises_the_workers_error_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("corrupt frame 2")

    seen = []
    with pytest.raises(ValueError, match="corrupt frame 2"), read_ahead(items(), 4, "decode") as ahead:
        seen.extend(ahead)
    assert seen == [1, 2] and workers() == []


def test_leaving_read_ahead_early_closes_the_source_on_its_thread_and_joins_it():
    closed_on: list[str] = []

    def items():
        try:
            yield from range(1000)
        finally:
            closed_on.append(threading.current_thread().name)

    with read_ahead(items(), 2, "decode") as ahead:
        assert next(ahead) == 0
    assert closed_on == ["decode"] and workers() == []


def test_write_behind_writes_everything_in_order_before_the_block_ends():
    written = []

    def write(item):
        time.sleep(0.002)
        written.append(item)

    with write_behind(write, 2, "encode") as writer:
        for index in range(15):
            writer.put(index)
    assert written == list(range(15)) and workers() == []


def test_a_failed_write_is_raised_by_a_later_put_and_nothing_more_is_written():
    written = []

    def write(item):
        if item == 3:
            raise OSError(28, "No space left on device")
        written.append(item)

    with pytest.raises(OSError, match="No space left"), write_behind(write, 2, "encode") as writer:
        for index in range(100):
            writer.put(index)
    assert written == [0, 1, 2] and workers() == []


def test_a_failure_in_the_last_writes_is_raised_when_the_block_ends():
    def write(item):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"), write_behind(write, 8, "encode") as writer:
        writer.put(0)  # queued: the worker fails after put returned
    assert workers() == []


def test_an_error_in_the_block_stops_the_writer_without_writing_the_rest():
    release, written = threading.Event(), []

    def write(item):
        release.wait(1)
        written.append(item)

    with pytest.raises(KeyboardInterrupt), write_behind(write, 8, "encode") as writer:
        for index in range(5):
            writer.put(index)
        raise KeyboardInterrupt  # Ctrl-C while frames wait to be written
    release.set()
    assert len(written) <= 1 and workers() == []  # at most the one it was writing


# The same through a whole run: decoding and encoding on their threads.


def test_a_decode_error_mid_run_is_raised_with_nothing_written_and_no_thread_left(tmp_path, assets_dir):
    from stmfnet_trt.core.errors import InputError
    from stmfnet_trt.runtime.backends.blend import BlendBackend
    from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video

    data = bytearray((assets_dir / "carphone_12.mp4").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 1500] = bytes(1500)  # zeros over the middle frames
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"damaged\.mp4: .*(decoding failed after|announces 12)"):
        interpolate_video(damaged, tmp_path / "out.mp4", BlendBackend(), RunOptions(progress=False))
    assert list(tmp_path.iterdir()) == [damaged] and workers() == []


def test_an_encoder_error_mid_run_is_raised_with_nothing_written_and_no_thread_left(
    tmp_path, assets_dir, monkeypatch
):
    from stmfnet_trt.io.video_sink import VideoSink
    from stmfnet_trt.runtime.backends.blend import BlendBackend
    from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video

    calls = []

    def full_disk(self, packets):
        calls.append(len(packets))
        if len(calls) == 5:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(VideoSink, "_mux", full_disk)
    with pytest.raises(OSError, match="No space left"):
        interpolate_video(
            assets_dir / "carphone_12.mp4", tmp_path / "out.mp4", BlendBackend(), RunOptions(progress=False)
        )
    assert len(calls) == 5 and list(tmp_path.iterdir()) == [] and workers() == []
