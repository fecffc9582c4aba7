"""Transparent huge pages off for a process that encodes video.

libx264 asks the kernel for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on its large
buffers, and NumPy does on every array of 4 MB or more. Each first touch of such a mapping then
makes the kernel zero a whole 2 MB page, of which a short encode touches little: where zeroing
pages is slow (a VM), that was most of a short run's system time and a large part of its CPU time,
for the same output bytes (bench/RESULTS.md, pipeline_after, measures it on our runs and on the
``ffmpeg`` tool's). The setting is the process's (``prctl(PR_SET_THP_DISABLE)``, inherited by the
processes it starts), so only a command that owns its process turns it off (``run``, ``batch``);
the library never does it behind an embedding application's back.
"""

from __future__ import annotations

import ctypes
import sys

_PR_SET_THP_DISABLE = 41  # <linux/prctl.h>, Linux 3.15+
_PR_GET_THP_DISABLE = 42


def _prctl(option: int, value: int) -> int | None:
    """``prctl(option, value)``'s result; None off Linux or where libc has no ``prctl``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # no libc symbol to call
        return None


def disable_transparent_huge_pages() -> bool:
    """Turn transparent huge pages off for this process (and the processes it starts).

    Returns whether they are off now: False off Linux, or where the kernel refuses (too old, or a
    seccomp policy); the run then goes on with the system's setting, only slower to start.
    """
    return _prctl(_PR_SET_THP_DISABLE, 1) == 0


def transparent_huge_pages_disabled() -> bool:
    """Whether this process runs with transparent huge pages off (False off Linux)."""
    return _prctl(_PR_GET_THP_DISABLE, 0) == 1
