"""`stmfnet-trt run - -o -` between real ffmpeg processes: frames equal to `run`, exact timestamps,
flat memory on an endless source, output that never waits for the end of the input, a reader that
leaves early, and bad input that fails with one line and exit status 2."""

from __future__ import annotations

import io
import shlex
import subprocess
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from pipeline_commands import FFMPEG_BOTH_ENDS, LIVE_SOURCE_EARLY_READER, README_COMMANDS
from pipeline_helpers import (
    ASSETS,
    REPO,
    STMFNET,
    TIMEOUT_S,
    ffmpeg_y4m,
    framemd5,
    md5,
    needs_ffmpeg,
    sh,
    split_y4m,
    stmfnet,
)

from stmfnet_trt.io import open_source
from stmfnet_trt.io.y4m import Y4MReader
from stmfnet_trt.io.yuv import FrameConverter
from stmfnet_trt.runtime.scheduling.stream import EXIT_OUTPUT_CLOSED

pytestmark = needs_ffmpeg
USER_ERROR = 2


def expected_md5s(y4m: bytes, tmp_path: Path, run_args: str) -> list[str]:
    """`run` on the same y4m as a file (PNG frames), converted back with the stream's layout."""
    source, output = tmp_path / "in.y4m", tmp_path / "run_out"
    source.write_bytes(y4m)
    done = subprocess.run(
        [*STMFNET, "run", str(source), "-o", str(output), *run_args.split(), "-q"],
        capture_output=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr.decode()
    header = Y4MReader(io.BytesIO(y4m)).header
    converter = FrameConverter(header.layout, header.colour())
    with open_source(output) as frames:
        return [md5(converter.to_planes(frame)) for frame in frames]


def piped(source_args: str, run_args: str) -> tuple[subprocess.CompletedProcess, bytes]:
    """ffmpeg SOURCE | stmfnet-trt run - -o - RUN_ARGS, as one shell pipeline; (result, y4m out)."""
    command = (
        f"set -o pipefail; ffmpeg -v error {source_args} -f yuv4mpegpipe - "
        f"| stmfnet-trt run - -o - {run_args} -q"
    )
    done = sh(command, cwd=REPO)
    return done, done.stdout


@pytest.mark.parametrize(
    ("source_args", "run_args", "frames", "tb"),
    [
        (f"-i {ASSETS / 'carphone_12.mp4'}", "--backend blend", 24, Fraction(1001, 60000)),
        (
            f"-i {ASSETS / 'carphone_12.mp4'} -frames:v 6",
            "--backend blend --factor 8",
            48,
            Fraction(1001, 240000),
        ),
    ],
    ids=["blend-x2", "blend-x8"],
)
def test_ffmpeg_both_ends_equal_run_frame_for_frame(tmp_path, source_args, run_args, frames, tb):
    done, out = piped(source_args, run_args)
    assert done.returncode == 0, done.stderr.decode()
    time_base, rows = framemd5(out)  # ffmpeg reading our output
    assert time_base == tb
    assert [(pts, duration) for pts, duration, _ in rows] == [(i, 1) for i in range(frames)]
    source = ffmpeg_y4m(source_args)
    assert [h for _, _, h in rows] == expected_md5s(source, tmp_path, run_args)


def test_onnxruntime_backend_equals_run_on_a_tiny_clip(tmp_path, demo_onnx):
    source_args = f"-i {ASSETS / 'carphone_12.mp4'} -frames:v 4 -vf scale=96:72"
    run_args = f"--backend onnxruntime --onnx {demo_onnx} --threads 2"
    done, out = piped(source_args, run_args)
    assert done.returncode == 0, done.stderr.decode()
    _, rows = framemd5(out)
    assert [h for _, _, h in rows] == expected_md5s(ffmpeg_y4m(source_args), tmp_path, run_args)
    assert b"3 windows interpolated" in done.stderr  # the model ran, not a copy


def test_readme_ffmpeg_both_ends(tmp_path, in_mp4):
    done = sh(FFMPEG_BOTH_ENDS, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    with open_source(tmp_path / "out.mp4") as source:
        with open_source(in_mp4) as original:
            assert source.fps == 2 * original.fps == Fraction(60000, 1001)
        assert sum(1 for _ in source) == 12 and (source.width, source.height) == (96, 72)


def test_readme_live_source_reader_leaving_early(tmp_path):
    done = sh(LIVE_SOURCE_EARLY_READER + '; echo "${PIPESTATUS[*]}" >&2', cwd=tmp_path)
    data = (tmp_path / "head.y4m").read_bytes()
    assert len(data) == 10_000_000 and data.startswith(b"YUV4MPEG2 W160 H96 F50:1 ")
    statuses = done.stderr.decode().split("\n")[-2].split()
    assert statuses[1:] == [str(EXIT_OUTPUT_CLOSED), "0"]  # us, head
    ours = [line for line in done.stderr.decode().splitlines() if line.startswith("stmfnet-trt")]
    assert len(ours) == 1 and "closed by its reader" in ours[0]


def vm_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def test_endless_source_flat_memory_then_closed_output(tmp_path):
    """An endless testsrc: read 1400 output frames, the memory at 200 and at 1400 must be the same
    (a leak of one 128x96 frame per input frame would add ~100 kB each: 60 MB); then close our end:
    one line on stderr, exit status 141."""
    source = subprocess.Popen(
        shlex.split(
            "ffmpeg -v error -f lavfi -i testsrc=size=128x96:rate=25 -pix_fmt yuv420p -f yuv4mpegpipe -"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    ours = subprocess.Popen(
        [*STMFNET, "run", "-", "-o", "-", "--backend", "blend", "-q"],
        stdin=source.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    source.stdout.close()
    try:
        header = ours.stdout.readline()
        assert header.startswith(b"YUV4MPEG2 W128 H96 F50:1")
        frame = len(b"FRAME\n") + 128 * 96 * 3 // 2
        rss = {}
        for index in range(1, 1401):
            assert len(ours.stdout.read(frame)) == frame
            if index in (200, 1400):
                rss[index] = vm_rss_kib(ours.pid)
        assert rss[1400] - rss[200] < 4096, rss
        ours.stdout.close()
        assert ours.wait(timeout=TIMEOUT_S) == EXIT_OUTPUT_CLOSED
        lines = ours.stderr.read().decode().splitlines()
        assert len(lines) == 1 and "closed by its reader after" in lines[0], lines
    finally:
        for process in (ours, source):
            process.kill()
            process.wait(timeout=TIMEOUT_S)


def feed_frame_by_frame(y4m: bytes) -> tuple[list[int], int]:
    """Write a y4m stream one frame at a time without closing stdin; after each input frame,
    how many output frames had arrived (waiting up to 5 s for the expected count; after a first
    shortfall, not at all)."""
    header, frames = split_y4m(y4m)
    process = subprocess.Popen(
        [*STMFNET, "run", "-", "-o", "-", "--backend", "blend", "-q"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    received = [0]
    out_frame = len(b"FRAME\n") + len(frames[0])

    def reader() -> None:
        buffered = process.stdout.readline()  # the header
        while chunk := process.stdout.read1(1 << 16):
            buffered += chunk
            received[0] = (len(buffered) - len(header) - 1) // out_frame

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    seen, late = [], False
    try:
        process.stdin.write(header + b"\n")
        for index, frame in enumerate(frames):
            process.stdin.write(b"FRAME\n" + frame)
            process.stdin.flush()
            wanted, deadline = 2 * (index - 1), time.monotonic() + (5 if not late else 0)
            while received[0] < wanted and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.append(received[0])
            late = late or received[0] < wanted
        process.stdin.close()
        assert process.wait(timeout=TIMEOUT_S) == 0
        thread.join(timeout=TIMEOUT_S)
        return seen, received[0]
    finally:
        process.kill()


def test_output_never_waits_for_the_end_of_the_input():
    """Frame k's midpoint needs frames up to k + 2: after input frame i, 2(i - 1) outputs are out."""
    y4m = ffmpeg_y4m("-f lavfi -i testsrc=size=96x72:rate=25 -frames:v 8 -pix_fmt yuv420p")
    seen, total = feed_frame_by_frame(y4m)
    assert seen == [0, 0, 2, 4, 6, 8, 10, 12] and total == 16


def test_a_still_stream_is_not_held_back():
    y4m = ffmpeg_y4m("-f lavfi -i color=c=gray:size=96x72:rate=25 -frames:v 8")
    seen, total = feed_frame_by_frame(y4m)
    assert seen == [0, 0, 2, 4, 6, 8, 10, 12] and total == 16


def one_line_failure(done: subprocess.CompletedProcess, message: str) -> None:
    lines = done.stderr.decode().splitlines()
    assert done.returncode == USER_ERROR and len(lines) == 1, lines
    assert lines[0].startswith("stmfnet-trt run: error: ") and message in lines[0], lines


def truncated(y4m: bytes) -> bytes:
    return y4m[: len(y4m) * 2 // 3]


@pytest.mark.parametrize(
    ("make_input", "message", "frames_out"),
    [
        (lambda: np.random.default_rng(0).bytes(50_000), "not a YUV4MPEG2 stream", 0),
        (lambda: b"", "empty", 0),
        (
            lambda: truncated(
                ffmpeg_y4m("-f lavfi -i testsrc=size=96x72:rate=25 -frames:v 6 -pix_fmt yuv420p")
            ),
            "truncated",
            6,
        ),
        (lambda: ffmpeg_y4m("-f lavfi -i testsrc=size=32x32 -frames:v 3 -pix_fmt yuv420p"), "too small", 0),
        (
            lambda: ffmpeg_y4m("-f lavfi -i testsrc=size=96x72 -frames:v 3 -pix_fmt yuv420p10le -strict -1"),
            "more than 8 bits",
            0,
        ),
        (
            lambda: ffmpeg_y4m("-f lavfi -i testsrc=size=96x72 -frames:v 3 -pix_fmt yuv420p").replace(
                b" Ip ", b" It ", 1
            ),
            "interlaced",
            0,
        ),
    ],
    ids=["garbage", "empty", "truncated", "too-small", "10-bit", "interlaced"],
)
def test_bad_input_one_line_exit_2(make_input, message, frames_out):
    done = stmfnet("run - -o - --backend blend -q", make_input())
    one_line_failure(done, message)
    assert len(split_y4m(done.stdout)[1]) == frames_out if frames_out else done.stdout == b""


def test_a_stream_goes_both_ways(tmp_path):
    done = stmfnet(f"run - -o {tmp_path / 'out.mp4'} --backend blend", b"")
    one_line_failure(done, "a stream goes stdin to stdout")


def test_readme_shows_the_commands_the_tests_run():
    readme = (REPO / "README.md").read_text()
    assert [command for command in README_COMMANDS if command not in readme] == []
