"""Helpers for the pipeline tests: real ffmpeg and shell processes, always with a timeout."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from stmfnet_trt.io.y4m import parse_header

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "assets"
TIMEOUT_S = 120
STMFNET = [sys.executable, "-m", "stmfnet_trt.cli"]

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="needs the ffmpeg command (make ci-deps installs it)"
)


def shell_env(**extra: str) -> dict[str, str]:
    """The environment with this interpreter's scripts (stmfnet-trt, python) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def sh(command: str, cwd: Path, timeout: float = TIMEOUT_S, **env: str) -> subprocess.CompletedProcess:
    """Run a shell command line (bash, pipefail off: each test checks what it needs)."""
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=shell_env(**env), capture_output=True, timeout=timeout
    )


def stmfnet(args: str, stdin: bytes, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([*STMFNET, *args.split()], input=stdin, capture_output=True, timeout=timeout)


def ffmpeg_y4m(source_args: str, timeout: float = TIMEOUT_S) -> bytes:
    """What ``ffmpeg SOURCE_ARGS -f yuv4mpegpipe -`` writes."""
    done = subprocess.run(
        ["ffmpeg", "-v", "error", *source_args.split(), "-f", "yuv4mpegpipe", "-"],
        capture_output=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout


def split_y4m(data: bytes) -> tuple[bytes, list[bytes]]:
    """(header line, frame payloads) of a complete y4m stream."""
    header, _, rest = data.partition(b"\n")
    size = parse_header(header + b"\n").layout.frame_bytes
    frames, offset = [], 0
    while offset < len(rest):
        marker_end = rest.index(b"\n", offset)
        assert rest[offset:marker_end].startswith(b"FRAME")
        frames.append(rest[marker_end + 1 : marker_end + 1 + size])
        assert len(frames[-1]) == size
        offset = marker_end + 1 + size
    return header, frames


def framemd5(y4m: bytes) -> tuple[Fraction, list[tuple[int, int, str]]]:
    """ffmpeg's own view of a y4m stream: time base and (pts, duration, md5) per frame (its
    demuxer's packets as they are: re-encoding would round the time base to a guessed rate)."""
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "yuv4mpegpipe", "-i", "-", "-c", "copy", "-f", "framemd5", "-"],
        input=y4m,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    text = done.stdout.decode()
    base = re.search(r"^#tb 0: (\d+)/(\d+)$", text, re.M)
    rows = [line.split(",") for line in text.splitlines() if line and not line.startswith("#")]
    return Fraction(int(base[1]), int(base[2])), [(int(r[2]), int(r[3]), r[5].strip()) for r in rows]


def md5(planes: list[np.ndarray]) -> str:
    return hashlib.md5(b"".join(np.ascontiguousarray(p).tobytes() for p in planes)).hexdigest()
