"""argparse value types shared by every subcommand's parser."""

from __future__ import annotations

import argparse


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
