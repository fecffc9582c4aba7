"""The server's side of the stream wire (``triton_stream_model``): a scheduler per stream, bounded.

Each stream runs ``interpolate_stream`` (the scheduler of ``run``) in a thread of its own, fed
one frame per request: a request hands its frame over and waits until the scheduler asks for the
next one (or, for ``end``, finishes), then answers with the output frames made meanwhile. So a
stream holds what ``run`` holds in memory (a few frames per level and batch), never the clip.

Outputs that are the client's own frames passing through (every original, and the copies at cuts)
are answered with the request number that brought them, not with pixels: the scheduler yields the
very array it was given, so identity says which it is. That is exact because
``to_video_frame(to_model_frame(f)) == f`` for every uint8 value (tested).

Bounds, so that a hostile or vanished client cannot grow the server's memory: at most
``max_streams`` streams (an opening request beyond that is refused), frames within the request
caps, one frame in flight per stream, and a stream idle for ``idle_s`` seconds (its client died,
hung or forgot to end it) is closed and its thread ended by a reaper. ``stats`` says how many
are open and how each one ended, for ``GET /v2/models/<name>_stream/streams``.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, astuple, dataclass, field

import numpy as np

from stmfnet_trt.core.errors import ParameterError, UserError
from stmfnet_trt.core.frames import to_model_frame, to_video_frame
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.triton_model import RequestLimits, RequestRefused
from stmfnet_trt.runtime.backends.triton_stream_model import (
    DEFAULT_IDLE_S,
    DEFAULT_MAX_STREAMS,
    FRAME,
    FRAMES,
    NO_FRAMES,
    ORDER,
    SETTINGS_INPUTS,
    StreamSettings,
    check_frame_shape,
)
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_stream

log = logging.getLogger(__name__)

_END = object()
# How long closing a stream waits for its thread (busy in one backend call at most) to end.
_JOIN_S = 60.0


class _Closed(Exception):
    """Raised inside a stream's scheduler thread when the stream is closed under it."""


class _StreamRun:
    """One stream's scheduler in its own thread, fed one frame at a time (see the module docstring)."""

    def __init__(self, backend: Backend, settings: StreamSettings, name: str) -> None:
        self.settings = settings
        self.stats = SchedulerStats()
        # request number -> the float frame made from it, while the scheduler holds that frame
        self.sources: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()
        self._backend = backend
        self._cond = threading.Condition()
        self._inbox: deque = deque()
        self._outbox: list[np.ndarray] = []
        self._wants_input = False
        self._closing = False
        self._finished = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _frames(self) -> Iterator[np.ndarray]:
        index = 0
        while True:
            with self._cond:
                while not self._inbox and not self._closing:
                    self._wants_input = True
                    self._cond.notify_all()
                    self._cond.wait()
                self._wants_input = False
                if self._closing:
                    raise _Closed
                item = self._inbox.popleft()
                if item is _END:
                    return
                frame = to_model_frame(item)
                self.sources[index] = frame
            index += 1
            yield frame

    def _run(self) -> None:
        settings = self.settings
        try:
            output = interpolate_stream(
                self._frames(),
                self._backend,
                settings.factor,
                settings.detector,
                settings.batch_size,
                self.stats,
            )
            for frame in output:
                with self._cond:
                    self._outbox.append(frame)
        except _Closed:
            pass
        except UserError as exc:
            self._error = exc
        except BaseException as exc:  # a bug: the log gets the traceback, the client one line
            if not self._closing:
                log.exception("stream %s failed", self._thread.name)
            self._error = exc
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def feed(self, item: np.ndarray | object) -> list[np.ndarray]:
        """Hand over a frame (or ``_END``); the frames output until the scheduler wanted the next
        (or finished). Raises what the scheduler raised."""
        with self._cond:
            self._inbox.append(item)
            self._wants_input = False
            self._cond.notify_all()
            while not self._finished and (self._inbox or not self._wants_input):
                self._cond.wait()
            output, self._outbox = self._outbox, []
        if self._error is not None:
            if isinstance(self._error, UserError):
                raise RequestRefused(str(self._error))
            raise RuntimeError("the stream's scheduler failed") from self._error
        return output

    def held_sources(self, since: int) -> dict[int, int]:
        """``id`` -> request number of the frames from request ``since`` on that the scheduler
        still holds."""
        with self._cond:
            return {id(frame): index for index, frame in self.sources.items() if index >= since}

    def close(self) -> bool:
        """Stop the thread (after the backend call it may be in); whether it ended in time."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(_JOIN_S)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


@dataclass
class _Stream:
    """A stream's bookkeeping around its run: what it has seen and its last reply (for a retry)."""

    run: _StreamRun
    shape: tuple[int, ...]
    requests: int = 0
    last_used: float = 0.0
    busy: bool = False
    last_reply: dict[str, np.ndarray] | None = None


@dataclass
class StreamCounts:
    """How streams ended since the server started: for the stats endpoint and tests."""

    opened: int = 0
    ended: int = 0
    cancelled: int = 0
    evicted_idle: int = 0
    failed: int = 0


@dataclass
class StreamStore:
    """Open streams by id, bounded (see the module docstring); ``handle`` answers one request."""

    backend: Backend
    limits: RequestLimits
    max_streams: int = DEFAULT_MAX_STREAMS
    idle_s: float = DEFAULT_IDLE_S
    clock: Callable[[], float] = time.monotonic
    counts: StreamCounts = field(default_factory=StreamCounts)

    def __post_init__(self) -> None:
        if self.max_streams < 1:
            raise ParameterError("max_streams", f"must be >= 1, got {self.max_streams}")
        if not self.idle_s > 0:
            raise ParameterError("idle_s", f"must be > 0 seconds, got {self.idle_s}")
        self._streams: dict[int, _Stream] = {}
        self._runs: weakref.WeakSet[_StreamRun] = weakref.WeakSet()  # closed ones too, until gone
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start_reaper(self) -> None:
        """Close idle streams every quarter of the idle timeout (at most every second) until ``close``."""
        period = min(self.idle_s / 4, 1.0)

        def reap() -> None:
            while not self._stop.wait(period):
                self.reap_idle()

        self._reaper = threading.Thread(target=reap, name="stream-reaper", daemon=True)
        self._reaper.start()

    def close(self) -> None:
        """Stop the reaper and close every stream."""
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join()
        with self._lock:
            streams, self._streams = list(self._streams.values()), {}
        for stream in streams:
            stream.run.close()

    def reap_idle(self) -> int:
        """Close the streams idle for ``idle_s`` (not one being answered); how many were closed."""
        now = self.clock()
        with self._lock:
            idle = [
                key for key, s in self._streams.items() if not s.busy and now - s.last_used >= self.idle_s
            ]
            closed = [self._streams.pop(key) for key in idle]
            self.counts.evicted_idle += len(closed)
        for stream in closed:
            log.info("closed a stream idle for %.0f s (its client stopped sending)", self.idle_s)
            stream.run.close()
        return len(closed)

    def stats(self) -> dict[str, object]:
        """Open streams, scheduler threads still running (a closed stream's included until it
        ended), the limits, and how streams ended."""
        with self._lock:
            return {
                "streams": len(self._streams),
                "threads": sum(run.alive for run in list(self._runs)),
                "max_streams": self.max_streams,
                "idle_timeout_s": self.idle_s,
                **asdict(self.counts),
            }

    # -- one request -----------------------------------------------------------------------------
    def handle(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Answer one stream request (shapes and datatypes already checked: ``check_stream_request``);
        refusals are RequestRefused with one line."""
        key = int(inputs["stream_id"][0])
        index = int(inputs["frame_index"][0])
        if _flag(inputs, "cancel"):
            return self._cancel(key)
        stream = self._open_or_take(key, index, inputs)
        try:
            if index == stream.requests - 1 and stream.last_reply is not None:
                return stream.last_reply  # a retry of the last request: its reply again
            if index != stream.requests:
                raise RequestRefused(
                    f"stream {key} expects frame_index {stream.requests} (or {stream.requests - 1} to "
                    f"repeat the last request), got {index}"
                )
            if index > 0 and any(name in inputs for name in SETTINGS_INPUTS):
                raise RequestRefused("settings are sent with the opening request only")
            return self._advance(key, stream, inputs)
        finally:
            self._release(stream)

    def _open_or_take(self, key: int, index: int, inputs: dict[str, np.ndarray]) -> _Stream:
        """The stream ``key``, marked busy; opened here when ``index`` is 0 and it is not open."""
        settings = None
        if index == 0:  # checked before the lock; used only if the stream is not open
            if FRAME not in inputs:
                raise RequestRefused("a stream opens with its first frame (frame_index 0)")
            settings = StreamSettings.from_inputs(inputs, self.limits)
            check_frame_shape(inputs[FRAME].shape, self.limits)
            self.reap_idle()
        with self._lock:
            stream = self._streams.get(key)
            if stream is None and settings is not None:
                return self._open(key, settings, tuple(inputs[FRAME].shape))
            if stream is None:
                raise RequestRefused(
                    f"stream {key} is not open (never opened, ended, cancelled, or closed after "
                    f"{self.idle_s:.0f} s idle): open it with frame_index 0"
                )
            if stream.busy:
                raise RequestRefused(f"stream {key} is still answering its previous request")
            stream.busy = True
            return stream

    def _open(self, key: int, settings: StreamSettings, shape: tuple[int, ...]) -> _Stream:
        """Start stream ``key`` (the lock held)."""
        if len(self._streams) >= self.max_streams:
            raise RequestRefused(
                f"this server holds its limit of {self.max_streams} open streams; try again when one "
                f"ends (an idle stream closes after {self.idle_s:.0f} s)"
            )
        run = _StreamRun(self.backend, settings, name=f"stream-{key}")
        self._runs.add(run)
        stream = _Stream(run, shape, last_used=self.clock(), busy=True)
        self._streams[key] = stream
        self.counts.opened += 1
        return stream

    def _release(self, stream: _Stream) -> None:
        with self._lock:
            stream.busy = False
            stream.last_used = self.clock()

    def _advance(self, key: int, stream: _Stream, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Feed the request's frame (or the end) to the stream's scheduler; the reply."""
        end = _flag(inputs, "end")
        frame = inputs.get(FRAME)
        if frame is None and not end:
            raise RequestRefused("a stream request carries a frame, or sets end or cancel")
        if frame is not None and tuple(frame.shape) != stream.shape:
            raise RequestRefused(
                f"frame {stream.requests} of stream {key} is {frame.shape[1]}x{frame.shape[0]}; its "
                f"first frame was {stream.shape[1]}x{stream.shape[0]}: all frames must have one size"
            )
        try:
            output = stream.run.feed(np.ascontiguousarray(frame) if frame is not None else _END)
            if end:
                output += stream.run.feed(_END) if frame is not None else []
        except BaseException:
            self._forget(key, stream, "failed")
            raise
        stream.requests += 1
        reply = encode_reply(output, stream.run, stream.requests)
        stream.last_reply = reply
        if end:
            self._forget(key, stream, "ended")
        return reply

    def _cancel(self, key: int) -> dict[str, np.ndarray]:
        with self._lock:
            stream = self._streams.get(key)
            if stream is None or stream.busy:
                raise RequestRefused(f"stream {key} is not open or is answering a request: nothing to cancel")
            stream.busy = True
        self._forget(key, stream, "cancelled")
        return encode_reply([], stream.run, stream.requests)

    def _forget(self, key: int, stream: _Stream, how: str) -> None:
        with self._lock:
            if self._streams.get(key) is stream:
                del self._streams[key]
            setattr(self.counts, how, getattr(self.counts, how) + 1)
        stream.run.close()


def _flag(inputs: dict[str, np.ndarray], name: str) -> bool:
    return name in inputs and bool(inputs[name][0])


def encode_reply(output: list[np.ndarray], run: _StreamRun, received: int) -> dict[str, np.ndarray]:
    """``frames`` and ``order`` (``triton_stream_model``) for ``output``: an original the client still holds
    (one of the last ``source_hold`` it sent) by its request number, any other frame once, as uint8."""
    by_identity = run.held_sources(since=received - run.settings.source_hold)
    new: dict[int, int] = {}
    pixels: list[np.ndarray] = []
    codes = []
    for frame in output:
        source = by_identity.get(id(frame))
        if source is not None:
            codes.append(source)
            continue
        if id(frame) not in new:
            new[id(frame)] = len(pixels)
            pixels.append(to_video_frame(frame))
        codes.append(-new[id(frame)] - 1)
    order = np.array([*astuple(run.stats), *codes], np.int64)
    return {FRAMES: np.stack(pixels) if pixels else NO_FRAMES, ORDER: order}
