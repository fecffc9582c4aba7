"""The stream wire's logic without Triton: the client (``stream_client``) talking straight to the
server's ``StreamStore``, against the frames ``run`` makes locally from the same uint8 frames.

The Triton tests (``test_stream_wire.py``) run the same protocol through a real server; these
cover every branch of it in seconds: factors, batches, cuts, identical pairs, diverged windows,
interleaved streams, retries, eviction, limits and hostile requests.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.core.frames import to_model_frame, to_video_frame
from stmfnet_trt.io import open_source
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.triton_model import RequestLimits, RequestRefused
from stmfnet_trt.runtime.backends.triton_stream_client import decode_reply, stream_frames
from stmfnet_trt.runtime.backends.triton_stream_model import FRAMES, ORDER, StreamSettings
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_rgb
from stmfnet_trt.serve.streams import StreamStore

LIMITS = RequestLimits(max_batch_size=4, max_side=256, max_pixels=256 * 256)


class MixBackend(Backend):
    """A weighted mix of all four frames (so a wrong window shows), far out of range (diverged)
    where the mix is brighter than ``diverge_above``."""

    name = "mix"

    def __init__(self, diverge_above: float = 2.0) -> None:
        self.diverge_above = diverge_above
        self.calls = 0

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        self.calls += 1
        weights = np.array([0.1, 0.4, 0.35, 0.15], np.float32).reshape(1, 4, 1, 1, 1)
        middle = (windows * weights).sum(axis=1, dtype=np.float32)
        middle[middle.mean(axis=(1, 2, 3)) > self.diverge_above] *= np.float32(50)
        return middle


class FailingBackend(MixBackend):
    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        raise InputError("the backend refuses this window")


@pytest.fixture(scope="module")
def clip(assets_dir) -> list[np.ndarray]:
    """carphone, a repeated frame (an identical pair), then a cut to the demo clip (cropped)."""
    with open_source(assets_dir / "carphone_12.mp4") as source:
        phone = list(itertools.islice(source, 4))
    with open_source(assets_dir / "demo.mp4") as source:
        demo = [f[:, :176].copy() for f in itertools.islice(source, 3)]
    return [*phone[:2], phone[1].copy(), *phone[2:], *demo]


@pytest.fixture
def store():
    store = StreamStore(MixBackend(), LIMITS, max_streams=2, idle_s=30)
    yield store
    store.close()


def direct(store: StreamStore):
    """The transport: the request goes straight to the store (tritonclient in production)."""
    return lambda inputs, what, retry: store.handle(inputs)


def local(frames, factor, batch=1, backend=None) -> tuple[list[np.ndarray], SchedulerStats]:
    stats = SchedulerStats()
    out = list(interpolate_rgb(frames, backend or MixBackend(), factor, SceneCutDetector(), batch, stats))
    return out, stats


def first_difference(got: list[np.ndarray], expected: list[np.ndarray]) -> int | None:
    if len(got) != len(expected):
        return min(len(got), len(expected))
    pairs = enumerate(zip(got, expected, strict=True))
    return next((i for i, (g, e) in pairs if not np.array_equal(g, e)), None)


def test_uint8_frames_survive_the_float_round_trip():
    """The server names originals instead of sending them back: exact only if run's conversions
    give every uint8 value back."""
    values = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    assert np.array_equal(to_video_frame(to_model_frame(values)), values)


@pytest.mark.parametrize(("factor", "batch"), [(2, 1), (2, 3), (4, 1), (4, 2), (8, 4)])
def test_the_stream_wire_gives_run_s_frames(store, clip, factor, batch):
    diverging = MixBackend(diverge_above=0.375)
    store.backend = diverging
    expected, expected_stats = local(clip, factor, batch, MixBackend(diverge_above=0.375))
    stats = SchedulerStats()
    got = list(stream_frames(direct(store), clip, StreamSettings(factor, batch, SceneCutDetector()), stats))
    assert first_difference(got, expected) is None
    assert all(f.dtype == np.uint8 and f.shape == clip[0].shape for f in got)
    assert stats == expected_stats
    assert stats.scene_cuts >= 1 and stats.identical_pairs >= 1 and stats.diverged_windows >= 1, stats
    assert store.stats()["streams"] == 0 and store.counts.ended == 1


def test_each_frame_travels_once_and_originals_never_come_back(store, clip):
    """x2: the only pixels in the replies are the interpolated frames; originals and the copies
    at cuts and identical pairs come back as numbers."""
    sent_back = []

    def counting(inputs, what, retry):
        reply = store.handle(inputs)
        sent_back.append(int((reply[ORDER][4:] < 0).sum()))
        return reply

    stats = SchedulerStats()
    out = list(stream_frames(counting, clip, StreamSettings(2, 1, SceneCutDetector()), stats))
    assert len(out) == 2 * len(clip)
    assert sum(sent_back) == stats.windows == len(clip) - 1 - stats.scene_cuts - stats.identical_pairs


def test_a_stream_s_counts_are_added_to_the_caller_s(store, clip):
    """As the local scheduler does: ``Interpolator.stats`` sums its runs."""
    stats = SchedulerStats(windows=5, scene_cuts=1, identical_pairs=2, diverged_windows=3)
    list(stream_frames(direct(store), clip, StreamSettings(), stats))
    _, counts = local(clip, 2)
    assert counts.windows and counts.scene_cuts and counts.identical_pairs
    assert stats == SchedulerStats(
        counts.windows + 5, counts.scene_cuts + 1, counts.identical_pairs + 2, counts.diverged_windows + 3
    )


def test_two_interleaved_streams_get_their_own_frames(store, clip):
    other = [np.ascontiguousarray(f[::-1]) for f in clip[:5]]  # upside down: other pictures
    settings = StreamSettings(2, 1, SceneCutDetector())
    first = stream_frames(direct(store), clip, settings)
    second = stream_frames(direct(store), other, settings)
    got_first, got_second = [], []
    for a, b in itertools.zip_longest(first, second):  # requests alternate between the streams
        got_first += [a] if a is not None else []
        got_second += [b] if b is not None else []
    assert first_difference(got_first, local(clip, 2)[0]) is None
    assert first_difference(got_second, local(other, 2)[0]) is None
    assert store.counts.opened == 2 and store.stats()["streams"] == 0


class Requests:
    """Hand-made requests for one stream, as a hostile or broken client would send them."""

    def __init__(self, store: StreamStore, stream_id: int = 7) -> None:
        self.store = store
        self.id = np.array([stream_id], np.uint64)

    def send(self, index: int, frame: np.ndarray | None = None, **extra) -> dict[str, np.ndarray]:
        inputs = {"stream_id": self.id, "frame_index": np.array([index], np.int64)}
        if frame is not None:
            inputs["frame"] = frame
        for name, value in extra.items():
            inputs[name] = np.array([value], {"factor": np.int32, "batch_size": np.int32}.get(name))
        return self.store.handle(inputs)

    def open(self, frame: np.ndarray, **settings) -> dict[str, np.ndarray]:
        defaults = {"factor": 2, "batch_size": 1, "scene_threshold": 0.15, "scene_detect": True}
        return self.send(0, frame, **{**defaults, **settings})


def refused(call, fragment: str, status: int = 400) -> None:
    with pytest.raises(RequestRefused) as caught:
        call()
    assert fragment in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
    assert caught.value.status == status


def test_hostile_requests_are_refused_and_the_stream_still_gives_the_right_frames(store, clip):
    client = Requests(store)
    refused(lambda: client.send(1, clip[1]), "stream 7 is not open")
    refused(lambda: client.send(0), "opens with its first frame")
    refused(lambda: client.open(clip[0], factor=3), "factor must be one of")
    refused(lambda: client.open(clip[0], batch_size=5), "batch_size must be 1..4")
    refused(lambda: client.open(clip[0], scene_threshold=float("nan")), "scene threshold")
    refused(lambda: client.open(np.zeros((40, 40, 3), np.uint8)), "too small")
    refused(lambda: client.open(np.zeros((300, 100, 3), np.uint8)), "exceed this server's limit", 413)
    replies = [client.open(clip[0])]
    refused(lambda: client.send(5, clip[1]), "expects frame_index 1 (or 0 to repeat the last request), got 5")
    refused(lambda: client.send(1, clip[1][:100]), "all frames must have one size")
    refused(lambda: client.send(1, clip[1], factor=4), "opening request only")
    refused(lambda: client.send(1), "carries a frame, or sets end or cancel")
    for index, frame in enumerate(clip[1:], start=1):
        replies.append(client.send(index, frame))
    assert client.send(len(clip) - 1, clip[-1]) is replies[-1]  # a retry: the same reply
    replies.append(client.send(len(clip), end=True))
    held = dict(enumerate(clip))
    got = [f for reply in replies for f in decode_reply(reply, held, clip[0].shape)[0]]
    assert first_difference(got, local(clip, 2)[0]) is None
    refused(lambda: client.send(len(clip) + 1, clip[0]), "is not open")


def test_the_stream_limit_is_kept_and_an_ended_stream_frees_its_place(store, clip):
    first, second, third = Requests(store, 1), Requests(store, 2), Requests(store, 3)
    first.open(clip[0])
    second.open(clip[0])
    refused(lambda: third.open(clip[0]), "limit of 2 open streams")
    first.send(1, clip[1], end=True)
    third.open(clip[0])
    assert store.stats()["streams"] == 2


def test_an_idle_stream_is_closed_its_thread_ended_and_the_server_serves_on(clip):
    now = [100.0]
    store = StreamStore(MixBackend(), LIMITS, max_streams=1, idle_s=5, clock=lambda: now[0])
    try:
        vanished = Requests(store, 1)
        vanished.open(clip[0])
        vanished.send(1, clip[1])
        vanished.send(2, clip[2])  # a window ran: the scheduler holds frames
        assert store.stats()["streams"] == 1 and store.stats()["threads"] == 1
        now[0] += 4.9
        assert store.reap_idle() == 0
        now[0] += 0.1
        assert store.reap_idle() == 1
        stats = store.stats()
        assert (stats["streams"], stats["threads"], stats["evicted_idle"]) == (0, 0, 1), stats
        refused(lambda: vanished.send(3, clip[3]), "is not open")
        got = list(stream_frames(direct(store), clip[:4], StreamSettings()))
        assert first_difference(got, local(clip[:4], 2)[0]) is None
    finally:
        store.close()


def test_a_full_server_closes_idle_streams_before_refusing_a_new_one(clip):
    now = [0.0]
    store = StreamStore(MixBackend(), LIMITS, max_streams=1, idle_s=5, clock=lambda: now[0])
    try:
        Requests(store, 1).open(clip[0])
        now[0] += 6
        Requests(store, 2).open(clip[0])
        assert store.counts.evicted_idle == 1 and store.stats()["streams"] == 1
    finally:
        store.close()


def test_the_reaper_thread_closes_idle_streams(clip):
    store = StreamStore(MixBackend(), LIMITS, idle_s=0.2)
    store.start_reaper()
    try:
        Requests(store).open(clip[0])
        deadline = time.monotonic() + 10
        while store.stats()["streams"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.stats()["streams"] == 0 and store.counts.evicted_idle == 1
    finally:
        store.close()


def test_cancel_frees_a_stream_at_once(store, clip):
    client = Requests(store)
    client.open(clip[0])
    client.send(1, clip[1])
    reply = client.send(0, cancel=True)
    assert reply[ORDER][4:].size == 0 and store.stats()["streams"] == 0 and store.counts.cancelled == 1
    refused(lambda: client.send(0, cancel=True), "nothing to cancel")


def test_a_client_that_stops_early_cancels_its_stream(store, clip):
    frames = stream_frames(direct(store), clip, StreamSettings())
    next(frames)
    assert store.stats()["streams"] == 1
    frames.close()
    assert store.stats()["streams"] == 0 and store.counts.cancelled == 1


def test_a_backend_error_mid_stream_is_one_line_and_frees_the_stream(clip):
    store = StreamStore(FailingBackend(), LIMITS)
    try:
        client = Requests(store)
        client.open(clip[0])
        client.send(1, clip[1])
        refused(lambda: client.send(2, clip[2]), "the backend refuses this window")
        assert store.stats()["streams"] == 0 and store.counts.failed == 1
    finally:
        store.close()


def test_a_reply_naming_a_frame_the_client_does_not_hold_stops_the_run(clip):
    reply = {ORDER: np.array([0, 0, 0, 0, 3], np.int64), FRAMES: np.zeros((1, 1, 1, 3), np.uint8)}
    with pytest.raises(UserError, match="names frame 3, which this client no longer holds"):
        decode_reply(reply, {0: clip[0]}, clip[0].shape)
    wrong_size = {ORDER: np.array([0, 0, 0, 0, -1], np.int64), FRAMES: np.zeros((1, 8, 8, 3), np.uint8)}
    with pytest.raises(UserError, match="names 1 new frames"):
        decode_reply(wrong_size, {}, clip[0].shape)


def pixels_sent(store: StreamStore, frames, settings: StreamSettings) -> tuple[list[np.ndarray], int]:
    """The output frames of a stream, and how many of them came back as pixels."""
    pixels = [0]

    def counting(inputs, what, retry):
        reply = store.handle(inputs)
        pixels[0] += int((reply[ORDER][4:] < 0).sum())
        return reply

    return list(stream_frames(counting, frames, settings)), pixels[0]


def test_originals_older_than_the_client_holds_come_back_as_pixels(store, clip, monkeypatch):
    """Whatever the scheduler's lag, the server never names a frame the client has dropped: with
    a hold of one frame, originals must travel back as pixels, and the frames stay right."""
    settings = StreamSettings(4, 2, SceneCutDetector())
    expected = local(clip, 4, 2)[0]
    got, pixels = pixels_sent(store, clip, settings)
    monkeypatch.setattr(StreamSettings, "source_hold", property(lambda self: 1))
    got_short, pixels_short = pixels_sent(store, clip, settings)
    assert first_difference(got, expected) is None and first_difference(got_short, expected) is None
    assert pixels_short > pixels


def test_settings_round_trip():
    settings = StreamSettings(4, 3, SceneCutDetector(0.3, enabled=False))
    assert StreamSettings.from_inputs(settings.as_inputs(), LIMITS) == settings
