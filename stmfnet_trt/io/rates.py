"""Frame rates as exact fractions, and telling constant-rate timestamps from variable ones.

Interpolation multiplies the frame rate, so it must stay exact: 2 x 29.97 written as a float
gives a rate no player recognises, while 2 x 30000/1001 = 60000/1001 is the NTSC 59.94 rate.

It also assumes a constant rate: the output puts one new frame halfway between each pair, at
``factor`` times the input rate. A variable-rate input (phones in low light, screen and
browser recordings, captures that dropped frames) would come out at its average rate, with
motion sped up and slowed down against the audio. ``IntervalCheck`` finds such input from the
timestamps alone.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from fractions import Fraction

from stmfnet_trt.core.errors import UserError

# Matroska stores frame durations in whole nanoseconds (and timestamps in milliseconds), so an
# NTSC rate such as 60000/1001 reads back as 19001/317. A rate this close to a standard one is
# taken to be that standard rate.
_SNAP_TOLERANCE = Fraction(1, 10_000)


# Rates the writers can store: FFmpeg keeps rates and time bases as 32-bit fractions, and the
# output runs at up to 8x the input (measured: 1e30 fps overflowed in the sink after all the
# work, "29.97002997002997" as an exact decimal did too). One frame an hour to 10000 fps
# covers time-lapse to high-speed footage.
MIN_FPS = Fraction(1, 3600)
MAX_FPS = Fraction(10_000)
# The finest rate denominator kept; beyond it a rate is rounded to the nearest fraction with
# this denominator at most (a change below 1e-12 relative: typed-out decimals of n/1001).
MAX_FPS_DENOMINATOR = 1_001_000


def as_fps(value: Fraction | int | float | str) -> Fraction:
    """Turn a user-given frame rate ("30000/1001", "29.97", 25, Fraction) into a Fraction.

    Raises UserError for anything that is not a number between ``MIN_FPS`` and ``MAX_FPS``.
    """
    try:
        fps = Fraction(str(value)) if isinstance(value, float | str) else Fraction(value)
    except (ValueError, ZeroDivisionError, TypeError) as exc:
        raise UserError(f"frame rate {value!r} is not a number such as 25 or 30000/1001") from exc
    if fps <= 0:
        raise UserError(f"frame rate {value!r} must be positive")
    return checked_rate(fps, f"frame rate {value!r}")


def checked_rate(fps: Fraction, what: str) -> Fraction:
    """``fps`` with its denominator bounded, or UserError naming ``what`` if out of range."""
    if not MIN_FPS <= fps <= MAX_FPS:
        raise UserError(f"{what} is outside the supported {MIN_FPS} to {MAX_FPS} fps")
    if fps.denominator > MAX_FPS_DENOMINATOR:
        return snap_standard_rate(fps.limit_denominator(MAX_FPS_DENOMINATOR))
    return fps


def snap_standard_rate(rate: Fraction) -> Fraction:
    """Return the integer or n*1000/1001 rate within 1e-4 (relative) of ``rate``, else ``rate``.

    Containers with coarse timestamps (Matroska) lose exact NTSC rates; snapping restores them
    so that a rate read back equals the rate that was written.
    """
    if rate.denominator in (1, 1001):
        return rate
    candidates = (Fraction(round(rate)), Fraction(round(rate * Fraction(1001, 1000)) * 1000, 1001))
    for candidate in candidates:
        if candidate > 0 and abs(rate - candidate) <= candidate * _SNAP_TOLERANCE:
            return candidate
    return rate


# How far apart the frame intervals of a constant-rate stream may lie. Timestamps are rounded
# to the container's clock: in its native clock a constant rate shows intervals 1 tick apart
# (29.97 fps in milliseconds: 33 and 34 ms); remuxed from a millisecond container (Matroska,
# WebM, FLV) into a finer clock, under 1 ms + 2 ticks apart (measured: 59.94 fps MKV -> MP4
# gives 16 and 17 ms). Real variable rate differs by far more: 30 -> 24 fps is 8 ms, a
# dropped frame a whole interval. Relative bounds do not work: 1 ms is 12 % at 120 fps.
INTERVAL_TOLERANCE = Fraction(1, 1000)
INTERVAL_TOLERANCE_TICKS = 2
# Pictures a decoder may hold back for reordering: H.264 and HEVC allow at most 16.
REORDER_DEPTH = 16


@dataclass(frozen=True)
class IntervalSpread:
    """The shortest and longest gap between consecutive frames, in seconds."""

    shortest: Fraction
    longest: Fraction

    def describe(self) -> str:
        """E.g. "frame intervals range from 33.3 to 41.7 ms (24 to 30 fps)"."""

        def rate(interval: Fraction) -> str:
            return "unbounded" if interval <= 0 else f"{float(1 / interval):.4g}"

        return (
            f"frame intervals range from {float(self.shortest) * 1000:.1f} to "
            f"{float(self.longest) * 1000:.1f} ms ({rate(self.longest)} to {rate(self.shortest)} fps)"
        )


class IntervalCheck:
    """Whether timestamps advance by one constant interval, up to the clock's rounding.

    Fed presentation timestamps in decode order (packets), it compares them in display order:
    B-frames put the two orders out of step by at most ``REORDER_DEPTH`` pictures, so each
    timestamp waits in a heap of that size. A constant rate keeps the longest and shortest
    interval within ``INTERVAL_TOLERANCE`` + ``INTERVAL_TOLERANCE_TICKS``; ``regular`` turns
    False at the first interval beyond. Timestamps going backwards (a reorder deeper than any
    codec allows, a discontinuity) count as irregular too. Memory: the heap, whatever the length.
    """

    def __init__(self, time_base: Fraction) -> None:
        self._time_base = time_base
        self._tolerance = INTERVAL_TOLERANCE / time_base + INTERVAL_TOLERANCE_TICKS
        self._pending: list[int] = []
        self._last: int | None = None
        self._shortest: int | None = None
        self._longest: int | None = None

    def add(self, pts: int | None) -> None:
        """Take one frame's timestamp (None, as raw streams give, is skipped)."""
        if pts is None:
            return
        heapq.heappush(self._pending, pts)
        if len(self._pending) > REORDER_DEPTH:
            self._advance(heapq.heappop(self._pending))

    def finish(self) -> None:
        """Compare the timestamps still waiting for reordering: call after the last one."""
        while self._pending:
            self._advance(heapq.heappop(self._pending))

    def _advance(self, pts: int) -> None:
        if self._last is not None:
            interval = pts - self._last
            self._shortest = interval if self._shortest is None else min(self._shortest, interval)
            self._longest = interval if self._longest is None else max(self._longest, interval)
        self._last = pts

    @property
    def regular(self) -> bool:
        """False once two intervals differ by more than the tolerance."""
        return self._longest is None or self._longest - self._shortest <= self._tolerance

    @property
    def spread(self) -> IntervalSpread | None:
        """The intervals seen so far, or None before the second timestamp."""
        if self._shortest is None or self._longest is None:
            return None
        return IntervalSpread(self._shortest * self._time_base, self._longest * self._time_base)
