"""The client's side of the stream wire (``triton_stream_model``): each video frame sent once, as uint8.

``stream_frames`` opens a stream, sends the frames in order, one request each, then ``end``, and
yields the output frames each reply names: new frames from the reply's ``frames``, originals
from the last ``settings.source_hold`` frames it sent (kept here, so they never travel back). A reply
that names a frame it does not hold, or carries frames of another size, stops the run: nothing
wrong is written. A stream left unfinished (an error, the consumer gone) is cancelled, once and
without waiting for retries, so that the server frees it at once rather than at its idle timeout.

Pure Python and numpy: ``call`` is the transport (``TritonBackend`` sends each request through
tritonclient; tests call the server's ``StreamStore`` directly).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.runtime.backends.triton_stream_model import (
    CHANNELS_LAST,
    FRAME,
    FRAMES,
    ORDER,
    STATS_FIELDS,
    StreamSettings,
)
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats

log = logging.getLogger(__name__)

# (inputs, what the request is for an error message, whether to retry) -> {"frames", "order"}
Call = Callable[[dict[str, np.ndarray], str, bool], dict[str, np.ndarray]]
# Ids are drawn at random, as Triton's correlation ids are chosen by clients; below 2^63, so
# that they also survive a signed 64-bit reading.
_ID_BITS = 63


def _checked(frame: np.ndarray, shape: tuple[int, ...] | None, index: int) -> np.ndarray:
    """A uint8 (H, W, 3) frame of the stream's one size, contiguous for the wire."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != CHANNELS_LAST:
        raise InputError(f"frame {index} must be uint8 (H, W, 3) RGB, got {frame.dtype} {frame.shape}")
    if shape is not None and frame.shape != shape:
        raise InputError(
            f"frame {index} is {frame.shape[1]}x{frame.shape[0]}, earlier frames are {shape[1]}x{shape[0]}: "
            "all frames must have one size"
        )
    return np.ascontiguousarray(frame)


def decode_reply(
    reply: dict[str, np.ndarray], held: dict[int, np.ndarray], shape: tuple[int, ...]
) -> tuple[list[np.ndarray], SchedulerStats]:
    """The output frames a reply names, in order, and the stream's scheduler counts so far."""
    order, frames = reply[ORDER], reply[FRAMES]
    if order.ndim != 1 or len(order) < len(STATS_FIELDS):
        raise UserError(f"the server's reply is not the stream wire's: order has shape {order.shape}")
    counts, codes = order[: len(STATS_FIELDS)], order[len(STATS_FIELDS) :]
    new = codes[codes < 0]
    if len(new) and (frames.dtype != np.uint8 or frames.shape[1:] != shape or -new.min() > len(frames)):
        raise UserError(
            f"the server's reply names {-new.min()} new frames of {shape} but carries "
            f"{frames.dtype} {frames.shape}"
        )
    output = []
    for code in codes.tolist():
        if code < 0:
            output.append(frames[-code - 1])
        elif code in held:
            output.append(held[code])
        else:
            raise UserError(f"the server's reply names frame {code}, which this client no longer holds")
    return output, SchedulerStats(**dict(zip(STATS_FIELDS, counts.tolist(), strict=True)))


def stream_frames(
    call: Call,
    frames: Iterable[np.ndarray],
    settings: StreamSettings,
    stats: SchedulerStats | None = None,
) -> Iterator[np.ndarray]:
    """``settings.factor`` x the uint8 (H, W, 3) frames, interpolated by the server's stream model;
    the stream's scheduler counts are added to ``stats`` as replies bring them."""
    stats = stats if stats is not None else SchedulerStats()
    counted = SchedulerStats()  # what this stream has added to ``stats`` so far

    def frames_of(reply: dict[str, np.ndarray]) -> list[np.ndarray]:
        output, counts = decode_reply(reply, held, shape)
        for name in STATS_FIELDS:
            setattr(stats, name, getattr(stats, name) + getattr(counts, name) - getattr(counted, name))
            setattr(counted, name, getattr(counts, name))
        return output

    stream_id = np.array([secrets.randbits(_ID_BITS)], np.uint64)
    held: dict[int, np.ndarray] = {}
    shape: tuple[int, ...] | None = None
    sent = 0
    finished = False
    try:
        for frame in frames:
            frame = _checked(frame, shape, sent)
            shape = frame.shape
            inputs = {"stream_id": stream_id, "frame_index": np.array([sent], np.int64), FRAME: frame}
            if sent == 0:
                inputs.update(settings.as_inputs())
            held[sent] = frame
            held.pop(sent - settings.source_hold, None)
            reply = call(inputs, f"an inference request (frame {sent} of a stream)", True)
            sent += 1
            yield from frames_of(reply)
        if shape is None:
            return
        end = {"stream_id": stream_id, "frame_index": np.array([sent], np.int64), "end": np.array([True])}
        reply = call(end, "an inference request (the end of a stream)", True)
        finished = True
        yield from frames_of(reply)
    finally:
        if sent and not finished:
            _cancel(call, stream_id)


def _cancel(call: Call, stream_id: np.ndarray) -> None:
    """Ask the server to free an unfinished stream now; it frees it at its idle timeout anyway."""
    cancel = {"stream_id": stream_id, "frame_index": np.array([0], np.int64), "cancel": np.array([True])}
    try:
        call(cancel, "cancelling a stream", False)
    except Exception as exc:  # the run already stops for a reason of its own; this one is secondary
        log.info("could not cancel the stream (%s); the server frees it when it has been idle", exc)


__all__ = ["Call", "decode_reply", "stream_frames"]
