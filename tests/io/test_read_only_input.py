"""Inputs are opened read-only, and read-only or unreadable inputs are handled.

Tests run as root here, and root ignores permission bits. So the reads run in a child process
that drops to ``nobody`` (uid 65534) after importing everything: a reader that opened its input
for writing, or wrote anything beside it, would then fail on the read-only files and folders,
and unreadable files give the errors a normal user gets. Run as a normal user, the child reads
as that user, where the same holds.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from reader_media import encode_still, pattern

from stmfnet_trt.io import open_source

NOBODY = 65534
CHILD = """
import json, os, sys
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.io import open_source
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
outcomes = {}
for path in sys.argv[1:]:
    try:
        with open_source(path, fps=25) as source:
            outcomes[path] = sum(frame.shape == (source.height, source.width, 3) for frame in source)
    except UserError as exc:
        outcomes[path] = str(exc)
print(json.dumps(outcomes))
""".replace("NOBODY", str(NOBODY))


@pytest.fixture
def shared_root() -> Iterator[Path]:
    """A folder ``nobody`` can enter (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="stmfnet-readonly-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for path in [root, *root.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o700 if path.is_dir() else 0o600)
        shutil.rmtree(root)


def read_in_child(*paths: Path) -> dict[str, int | str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, paths)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_read_only_and_unreadable_inputs(shared_root, assets_dir):
    png = encode_still(pattern(8, 12), "png", "rgb24")
    read_only = shared_root / "read_only"
    read_only.mkdir()
    clip = read_only / "clip.mp4"
    shutil.copy(assets_dir / "carphone_12.mp4", clip)
    frames = read_only / "frames"
    frames.mkdir()
    for name in ("1.png", "2.png"):
        (frames / name).write_bytes(png)
    locked_clip = shared_root / "locked.mp4"
    shutil.copy(assets_dir / "carphone_12.mp4", locked_clip)
    locked_folder = shared_root / "locked_frames"
    locked_folder.mkdir()
    (locked_folder / "1.png").write_bytes(png)
    one_locked = shared_root / "one_locked"
    one_locked.mkdir()
    (one_locked / "1.png").write_bytes(png)
    (one_locked / "2.png").write_bytes(png)

    for path in (clip, frames / "1.png", frames / "2.png"):
        path.chmod(0o444)
    for path in (frames, read_only):
        path.chmod(0o555)
    for path in (locked_clip, locked_folder, one_locked / "2.png"):
        path.chmod(0o000)
    before = {path: path.stat().st_mtime_ns for path in (clip, frames, read_only)}

    outcomes = read_in_child(clip, frames, locked_clip, locked_folder, one_locked)

    assert outcomes[str(clip)] == 12
    assert outcomes[str(frames)] == 2
    assert outcomes[str(locked_clip)] == f"{locked_clip}: cannot read (Permission denied)"
    assert outcomes[str(locked_folder)] == f"{locked_folder}: cannot list the folder (Permission denied)"
    assert outcomes[str(one_locked)] == f"{one_locked / '2.png'}: cannot read (Permission denied)"
    assert {path: path.stat().st_mtime_ns for path in before} == before
    assert sorted(os.listdir(read_only)) == ["clip.mp4", "frames"]
    assert sorted(os.listdir(frames)) == ["1.png", "2.png"]


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs Linux /proc to see open flags")
def test_the_video_file_is_open_read_only_while_frames_are_read(assets_dir, tmp_path):
    clip = tmp_path / "clip.mp4"
    shutil.copy(assets_dir / "demo.mp4", clip)  # with audio: one file, however many streams

    def access_modes() -> list[int]:
        modes = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}") != str(clip):
                    continue
                flags = Path(f"/proc/self/fdinfo/{fd}").read_text().split("flags:")[1].split()[0]
            except OSError:  # closed meanwhile (the listing's own descriptor, say)
                continue
            modes.append(int(flags, 8) & os.O_ACCMODE)
        return modes

    with open_source(clip) as source:
        frames = iter(source)
        first = next(frames)
        modes = access_modes()
        assert modes and all(mode == os.O_RDONLY for mode in modes), modes
        assert sum(1 for _ in frames) == 17 and first.dtype == np.uint8
    assert access_modes() == []  # nothing left open either
    assert stat.S_IMODE(clip.stat().st_mode) == stat.S_IMODE((assets_dir / "demo.mp4").stat().st_mode)
