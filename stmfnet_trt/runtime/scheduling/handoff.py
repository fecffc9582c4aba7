"""Bounded hand-offs between a worker thread and the thread it serves, ended by either side.

Decoding, inference and encoding overlap on threads of their own (PyAV and NumPy release the GIL
in their heavy calls). Between two threads sits a queue of a few items, so memory stays at a few
frames however long the clip, and every blocking call polls a shared ``stop`` event: the thread
that is still running ends within ``POLL_S`` of its peer's failure or departure instead of waiting
on a queue nobody serves. A worker's exception travels to the thread it serves and is raised
there, the same object with its traceback, where the caller's ``with`` blocks unwind (a partial
output is removed, the CLI prints one line); a signal, which only the main thread receives, stops
the workers the same way. Workers are joined before the ``with`` block ends: no thread outlives it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

T = TypeVar("T")
POLL_S = 0.1
END = object()  # the producer's last item


class Failure:
    """A worker's exception, queued in place of the item it could not produce."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def put_unless_stopped(target: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Blocking put that gives up (False) once ``stop`` is set."""
    while not stop.is_set():
        try:
            target.put(item, timeout=POLL_S)
            return True
        except queue.Full:
            continue
    return False


def get_unless_stopped(source: queue.Queue, stop: threading.Event) -> Any:
    """Blocking get that returns ``END`` once ``stop`` is set."""
    while not stop.is_set():
        try:
            return source.get(timeout=POLL_S)
        except queue.Empty:
            continue
    return END


@contextmanager
def read_ahead(items: Iterable[T], depth: int, name: str) -> Iterator[Iterator[T]]:
    """``items`` iterated on a worker thread, at most ``depth`` items ahead of the consumer.

    The worker's exception is raised by the consumer's next step; leaving the block (done,
    failed or interrupted) stops the worker, which closes ``items``' iterator on its own thread
    (a generator's ``finally``, e.g. the decoder closing its file, runs where it ran), and joins it.
    """
    stop = threading.Event()
    handed: queue.Queue = queue.Queue(depth)
    worker = threading.Thread(target=_produce, args=(iter(items), handed, stop), name=name, daemon=True)
    worker.start()
    try:
        yield _consume(handed, stop)
    finally:
        stop.set()
        worker.join()


def _produce(items: Iterator[Any], handed: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not put_unless_stopped(handed, item, stop):
                return
        put_unless_stopped(handed, END, stop)
    except BaseException as error:  # raised by the consumer
        put_unless_stopped(handed, Failure(error), stop)
    finally:
        if isinstance(items, Generator):  # run its ``finally`` on the thread that ran it
            items.close()


def _consume(handed: queue.Queue, stop: threading.Event) -> Iterator[Any]:
    while (item := get_unless_stopped(handed, stop)) is not END:
        if isinstance(item, Failure):
            raise item.error
        yield item


class WriteBehind(Generic[T]):
    """``write`` called on a worker thread for each item ``put``, at most ``depth`` items behind.

    ``put`` raises the worker's exception once it has failed (the items after it are dropped);
    ``finish`` waits until every item is written and raises it too.
    """

    def __init__(self, write: Callable[[T], None], depth: int, name: str) -> None:
        self._write = write
        self._handed: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._run, name=name, daemon=True)
        self._worker.start()

    def _run(self) -> None:
        try:
            while (item := get_unless_stopped(self._handed, self._stop)) is not END:
                self._write(item)
        except BaseException as error:  # raised by put or finish
            self._error = error
            self._stop.set()

    def put(self, item: T) -> None:
        if not put_unless_stopped(self._handed, item, self._stop):
            self._raise()

    def finish(self) -> None:
        """Write everything put so far, then end the worker."""
        put_unless_stopped(self._handed, END, self._stop)
        self._worker.join()
        self._raise()

    def stop(self) -> None:
        """End the worker now, dropping what it has not written."""
        self._stop.set()
        self._worker.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


@contextmanager
def write_behind(write: Callable[[T], None], depth: int, name: str) -> Iterator[WriteBehind[T]]:
    """A ``WriteBehind`` that is finished when the block ends normally and stopped otherwise."""
    writer = WriteBehind(write, depth, name)
    try:
        yield writer
        writer.finish()
    except BaseException:  # the block's error, the worker's, or a signal while finishing
        writer.stop()
        raise
