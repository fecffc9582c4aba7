"""Outputs that appear complete or not at all.

A job that dies half-way (error, Ctrl-C, power cut) must not leave a half-written video under
the name the user asked for, where it would pass for a result. Everything is written under a
hidden temporary name in the same folder (same file system, so the final rename is atomic) and
renamed onto the real name only once complete.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stmfnet_trt.errors import UserError


def _reserve_sibling(target: Path, tag: str, *, directory: bool) -> Path:
    """Create a new, unused hidden sibling of ``target`` and return its path.

    The name keeps the suffix (``.out.partial-1a2b3c4d.mp4``) so FFmpeg still picks the muxer
    from it. Created with mode 0o666/0o777 minus the umask, unlike ``tempfile``'s private 0o600,
    because the file becomes the user's output.
    """
    while True:
        candidate = target.with_name(f".{target.stem}.{tag}-{secrets.token_hex(4)}{target.suffix}")
        try:
            if directory:
                candidate.mkdir(mode=0o777)
            else:
                os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(f"{target.parent}: cannot write output here ({exc.strerror})") from exc
        return candidate


def _remove(path: Path) -> None:
    """Delete a file or a whole folder; a path that is already gone is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class AtomicOutput:
    """A temporary file or folder (``temp``) that replaces ``final`` on ``commit``.

    ``discard`` removes it instead. Either can be called once; the other is then a no-op.
    """

    def __init__(self, final: Path, *, directory: bool) -> None:
        self.final = final
        self.directory = directory
        self.temp = _reserve_sibling(final, "partial", directory=directory)
        self._done = False

    def commit(self) -> None:
        """Move the finished output onto the final name, replacing an older one."""
        if self._done:
            return
        if not (self.directory and self.final.exists()):
            os.replace(self.temp, self.final)  # atomic for files
            self._done = True
            return
        # A folder cannot be renamed onto a non-empty one: move the old one aside first,
        # and put it back if the swap fails.
        old = _reserve_sibling(self.final, "old", directory=True)
        os.replace(self.final, old)
        try:
            os.replace(self.temp, self.final)
        except OSError:
            os.replace(old, self.final)
            raise
        self._done = True
        _remove(old)

    def discard(self) -> None:
        """Remove the temporary output; the final name is left as it was."""
        if self._done:
            return
        self._done = True
        _remove(self.temp)


@contextmanager
def atomic_output_path(final: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling path to write a whole file to; it becomes ``final`` on success.

    For writers that take a path (ONNX, engines, JSON): on an exception the temporary file is
    removed and ``final`` is left as it was.
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise UserError(f"{final} exists; pass --overwrite to replace it")
    output = AtomicOutput(final, directory=False)
    try:
        yield output.temp
    except BaseException:
        output.discard()
        raise
    output.commit()
