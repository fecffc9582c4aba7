"""Signals that end a command like an error does, and OS errors said in one line.

A supervisor's SIGTERM, a closed terminal's SIGHUP and Ctrl-C's SIGINT must leave the same state
as any failure: the ``with`` blocks of the frame sinks and atomic outputs unwind, the hidden
temporaries are removed, nothing half-written keeps the final name. Python only turns SIGINT
into an exception by itself; here all three raise ``Interrupted`` in the main thread, once: a
second signal while the first unwinds is ignored, so the clean-up is not cut short. (A signal
that arrives while a native call runs, e.g. one ONNX Runtime inference, takes effect when that
call returns.)
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A handled signal arrived; unwinds through ``finally``/``with`` like KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """128 + the signal number, as a shell reports a process its signal ended."""
        return 128 + self.signum


@contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM/SIGHUP raise ``Interrupted`` (main thread only).

    The previous handlers come back on exit. Outside the main thread (an embedding application
    calling ``main``) signals are left alone: Python can only handle them there.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame) -> None:
        nonlocal raised
        if raised:
            return
        raised = True
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in HANDLED_SIGNALS}
    try:
        yield
    except KeyboardInterrupt:  # SIGINT raised before our handler was in place, or by a library
        raise Interrupted(signal.SIGINT) from None
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def describe_os_error(exc: BaseException) -> str:
    """An OS or codec error as one line: what failed, on which file, and what to do if obvious."""
    code = getattr(exc, "errno", None)
    candidates = (
        getattr(exc, "strerror", None),
        os.strerror(code) if isinstance(code, int) else None,
        str(exc),
        type(exc).__name__,
    )
    reason = next(one_line(text) for text in candidates if text and one_line(text))
    filename = getattr(exc, "filename", None)
    where = f"{filename}: " if filename else ""
    hint = ""
    if code == errno.ENOSPC:
        hint = " (the disk is full: free space or write the output elsewhere; nothing was kept)"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = " (check the permissions of that path)"
    return one_line(f"{where}{reason}{hint}")


def one_line(message: str) -> str:
    """``message`` on one line: the lines of a multi-line message (a tool's log tail, a file name
    with a newline in it) joined with `` | ``, so that an error is always one line."""
    return " | ".join(line.strip() for line in str(message).splitlines() if line.strip())
