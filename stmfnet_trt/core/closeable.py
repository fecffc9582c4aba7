"""A base for objects that hold resources and are used in ``with`` blocks.

Frame sources and backends both release files, sessions or device memory in ``close()``; this
gives them one context-manager protocol instead of a copy each.
"""

from __future__ import annotations

from types import TracebackType


class Closeable:
    """``with obj:`` calls ``obj.close()`` on the way out, whatever happened inside."""

    def close(self) -> None:
        """Release held resources; the default holds none beyond Python objects."""

    def __enter__(self):
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
