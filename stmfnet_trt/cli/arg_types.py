"""argparse value types shared by every subcommand's parser."""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path


def positive_int(text: str) -> int:
    """Counts, sizes and thread numbers: integers >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """Durations and limits: finite numbers > 0."""
    value = float(text)
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def optional_path(value: str | None) -> Path | None:
    """An optional file flag's value as the library takes it (None stays None)."""
    return None if value is None else Path(value)


def fraction(text: str) -> Fraction:
    """Frame rates: 25, 29.97 or 30000/1001, positive."""
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise argparse.ArgumentTypeError(f"not a frame rate: {text!r} (use e.g. 25 or 30000/1001)") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"frame rate must be positive, got {text}")
    return value
