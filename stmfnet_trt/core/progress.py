"""A frame counter on the terminal that costs nothing when it is off.

Importing tqdm reads package metadata (about 15 ms, a visible part of a short run's start); a run
with ``--quiet``, or a library call that asks for no progress, never shows a bar, so tqdm is
imported only when one is shown.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol


class ProgressBar(Protocol):
    def update(self, n: int = 1) -> Any: ...

    def __enter__(self) -> ProgressBar: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> Any: ...


class _NoBar:
    """What a bar that is off does: nothing."""

    def update(self, n: int = 1) -> None:
        return None

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


def progress_bar(shown: bool, *, total: int | None = None, desc: str, leave: bool = True) -> ProgressBar:
    """A tqdm bar counting frames when ``shown``; else one that does nothing (tqdm not imported)."""
    if not shown:
        return _NoBar()
    from tqdm import tqdm  # only for a bar on the screen: see the module docstring

    return tqdm(total=total, unit="frame", desc=desc, leave=leave)
