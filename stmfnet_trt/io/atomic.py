"""Outputs that appear complete or not at all, and never at the cost of something else.

A job that dies half-way (error, signal, power cut) must not leave a half-written video under
the name the user asked for, where it would pass for a result; and a job must never destroy what
it did not write. So:

- Everything is written under a hidden temporary name in the same folder (same file system, so
  the final rename is atomic) and renamed onto the real name only once complete.
- While a job writes ``final`` it holds an exclusive lock on that name (``flock`` on a hidden
  lock file beside it): a second writer of the same output fails at once with one line instead
  of racing the first and silently replacing its result. Without ``overwrite`` the final rename
  also refuses to replace anything that appeared meanwhile (``RENAME_NOREPLACE``).
- A folder output carries a marker file listing what we wrote. An existing folder is replaced
  only if it is such an output of ours and holds nothing else: a folder with the user's files is
  never removed, ``overwrite`` or not.
- Temporaries left by a run that was killed (SIGKILL, power cut) are recognised by their exact
  hidden name and removed by the next run that writes the same output.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import functools
import json
import os
import re
import secrets
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stmfnet_trt.core.errors import OutputExistsError, UserError

OUTPUT_MARKER = ".stmfnet-trt-output"
_TEMP_TAG = "partial"
_OLD_TAG = "old"
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_SIGNALS_HELD = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


class OutputBusyError(UserError):
    """Another process is writing the same output right now."""


def _temp_name(target: Path, tag: str) -> str:
    return f".{target.stem}.{tag}-{secrets.token_hex(4)}{target.suffix}"


def _temp_pattern(target: Path, tag: str) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(target.stem)}\.{tag}-[0-9a-f]{{8}}{re.escape(target.suffix)}")


def _reserve_sibling(target: Path, tag: str, *, directory: bool) -> Path:
    """Create a new, unused hidden sibling of ``target`` and return its path.

    The name keeps the suffix (``.out.partial-1a2b3c4d.mp4``) so FFmpeg still picks the muxer
    from it. Created with mode 0o666/0o777 minus the umask, unlike ``tempfile``'s private 0o600,
    because the file becomes the user's output.
    """
    while True:
        candidate = target.with_name(_temp_name(target, tag))
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
    """Delete a file or a whole folder of ours; a path that is already gone is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@functools.cache
def _libc_renameat2():
    """The C library's ``renameat2``, looked up once per process; None where it has none."""
    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name, use_errno=True) if libc_name else None
    return getattr(libc, "renameat2", None)


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """``renameat2(2)`` with ``flags``; False where the C library or file system lacks it."""
    function = _libc_renameat2()
    if function is None:
        return False
    result = function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(target))


def rename_no_replace(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, failing with FileExistsError if ``target`` exists.

    Atomic where the kernel has ``RENAME_NOREPLACE``; elsewhere a hard link does it for a file,
    and a folder is checked just before the rename (a window of microseconds).
    """
    if _renameat2(source, target, _RENAME_NOREPLACE):
        return
    if source.is_dir():
        if target.exists() or target.is_symlink():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
        os.rename(source, target)
        return
    os.link(source, target)  # FileExistsError when taken
    source.unlink()


def folder_entries_of_ours(folder: Path) -> list[str] | None:
    """The names a finished folder output of ours lists in its marker, or None if it has none.

    A marker that cannot be read or parsed counts as none: the folder is then not ours.
    """
    try:
        listed = json.loads((folder / OUTPUT_MARKER).read_text())["entries"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        return None
    return listed


def check_replaceable_folder(folder: Path) -> None:
    """Raise UserError unless ``folder`` is a finished output of ours holding nothing else."""
    listed = folder_entries_of_ours(folder)
    if listed is None:
        raise UserError(
            f"{folder} is a folder that stmfnet-trt did not write; refusing to replace it "
            "(choose a new folder name)"
        )
    foreign = sorted(set(os.listdir(folder)) - {*listed, OUTPUT_MARKER})
    if foreign:
        shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise UserError(
            f"{folder} holds {len(foreign)} file(s) stmfnet-trt did not write ({shown}); "
            "refusing to replace it (move them or choose a new folder name)"
        )


@contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT/SIGTERM/SIGHUP while a rename sequence runs, so it is never left half done."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS_HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _NameLock:
    """An exclusive ``flock`` on ``.NAME.stmfnet-trt-lock`` beside an output, released on close.

    ``wait``: block until the other writer is done instead of failing (for replaceable files
    such as cache entries, where the last writer may win). The lock file is removed on release;
    a writer that locked a file somebody just removed finds its inode gone from the folder and
    retries, so two writers never both hold the name.
    """

    def __init__(self, final: Path, *, wait: bool) -> None:
        self.path = final.with_name(f".{final.name}.stmfnet-trt-lock")
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o666)
            except OSError as exc:
                raise UserError(f"{final.parent}: cannot write output here ({exc.strerror})") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OutputBusyError(
                    f"{final}: another stmfnet-trt process is writing this output right now"
                ) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd: int | None = fd
                return
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


class AtomicOutput:
    """A temporary file or folder (``temp``) that replaces ``final`` on ``commit``.

    Holds the output's name lock from creation to ``commit``/``discard``; either can be called
    once, the other is then a no-op. ``overwrite`` allows replacing an existing file, or an
    existing folder output of ours (``check_replaceable_folder``). ``wait_for_lock``: a second
    writer waits for the first instead of failing (see ``_NameLock``).
    """

    def __init__(
        self, final: Path, *, directory: bool, overwrite: bool = False, wait_for_lock: bool = False
    ) -> None:
        if not final.name or (not directory and final.is_dir()):
            raise UserError(f"{final}: names a folder; this output is a file")
        self.final = final
        self.directory = directory
        self.overwrite = overwrite
        self._lock = _NameLock(final, wait=wait_for_lock)
        try:
            self._remove_stale_temporaries()
            self.temp = _reserve_sibling(final, _TEMP_TAG, directory=directory)
            if directory:
                self._write_marker([])
        except BaseException:
            self._lock.release()
            raise
        self._done = False

    def _remove_stale_temporaries(self) -> None:
        """Temporaries of this output from a killed run: nobody else can hold them (we lock)."""
        pattern = _temp_pattern(self.final, _TEMP_TAG)
        for entry in os.scandir(self.final.parent):
            if not pattern.fullmatch(entry.name):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False) and folder_entries_of_ours(path) is None:
                continue  # not made by us: leave it
            _remove(path)

    def _write_marker(self, entries: list[str]) -> None:
        (self.temp / OUTPUT_MARKER).write_text(
            json.dumps({"written_by": "stmfnet-trt", "entries": entries}) + "\n"
        )

    def commit(self) -> None:
        """Move the finished output onto the final name (see the class docstring)."""
        if self._done:
            return
        if self.directory:
            self._write_marker(sorted(set(os.listdir(self.temp)) - {OUTPUT_MARKER}))
        try:
            with _signals_held():
                self._install()
                self._done = True
        finally:
            if not self._done:
                self.discard()
            self._lock.release()

    def _install(self) -> None:
        exists = self.final.exists() or self.final.is_symlink()
        if not exists or not self.overwrite:
            try:
                rename_no_replace(self.temp, self.final)
            except FileExistsError:
                raise UserError(
                    f"{self.final} appeared while this output was being written; "
                    "it was left as it is and this result discarded"
                ) from None
            return
        if not self.directory:
            if self.final.is_dir():
                raise UserError(f"{self.final} is a folder; refusing to replace it with a file")
            os.replace(self.temp, self.final)  # atomic for files
            return
        if not self.final.is_dir() or self.final.is_symlink():
            raise UserError(f"{self.final} is not a folder; refusing to replace it with one")
        check_replaceable_folder(self.final)  # again: it may have changed during the run
        if _renameat2(self.temp, self.final, _RENAME_EXCHANGE):
            _remove(self.temp)  # now holds the old output
            return
        # No atomic exchange: move the old output aside, and put it back if the swap fails.
        old = _reserve_sibling(self.final, _OLD_TAG, directory=True)
        os.replace(self.final, old)
        try:
            os.replace(self.temp, self.final)
        except OSError:
            os.replace(old, self.final)
            raise
        _remove(old)

    def discard(self) -> None:
        """Remove the temporary output; the final name is left as it was."""
        if self._done:
            return
        self._done = True
        with _signals_held():
            _remove(self.temp)
            self._lock.release()


@contextmanager
def atomic_output_path(final: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling path to write a whole file to; it becomes ``final`` on success.

    For writers that take a path (ONNX, engines, JSON, cache entries): on an exception the
    temporary file is removed and ``final`` is left as it was. With ``overwrite`` a concurrent
    writer of the same file is waited for (the last one wins, whole); without, it is refused.
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise OutputExistsError(final)
    output = AtomicOutput(final, directory=False, overwrite=overwrite, wait_for_lock=overwrite)
    try:
        yield output.temp
    except BaseException:
        output.discard()
        raise
    output.commit()
