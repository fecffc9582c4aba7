"""Frame rates as exact fractions.

Interpolation multiplies the frame rate, so it must stay exact: 2 x 29.97 written as a float
gives a rate no player recognises, while 2 x 30000/1001 = 60000/1001 is the NTSC 59.94 rate.
"""

from __future__ import annotations

from fractions import Fraction

from stmfnet_trt.errors import UserError

# Matroska stores frame durations in whole nanoseconds (and timestamps in milliseconds), so an
# NTSC rate such as 60000/1001 reads back as 19001/317. A rate this close to a standard one is
# taken to be that standard rate.
_SNAP_TOLERANCE = Fraction(1, 10_000)


def as_fps(value: Fraction | int | float | str) -> Fraction:
    """Turn a user-given frame rate ("30000/1001", "29.97", 25, Fraction) into a Fraction.

    Raises UserError for anything that is not a positive, finite number.
    """
    try:
        fps = Fraction(str(value)) if isinstance(value, float | str) else Fraction(value)
    except (ValueError, ZeroDivisionError, TypeError) as exc:
        raise UserError(f"frame rate {value!r} is not a number such as 25 or 30000/1001") from exc
    if fps <= 0:
        raise UserError(f"frame rate {value!r} must be positive")
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
