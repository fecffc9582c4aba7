"""Signals, kills and full disks at any point of a run (issue 20, item 1 and 6).

A supervisor's SIGTERM, a closed terminal's SIGHUP and Ctrl-C end a run like an error: one line,
exit 128 + n, no hidden temporary left, no final output. SIGKILL cannot be handled: the final name
must still be absent or complete, and the next run must clean up after it. A full disk, real
(a small tmpfs, where root may mount one) or injected at each step of each output path, is one
line with exit 2 and leaves nothing.
"""

from __future__ import annotations

import errno
import random
import signal
import subprocess
import time
from pathlib import Path

import av
import pytest
from hostile_cli import CLI, assert_one_line_error, cli_env, hidden_leftovers, run_cli

from stmfnet_trt.cli import main
from stmfnet_trt.io import atomic as atomic_module
from stmfnet_trt.io import folder_sink as folder_sink_module
from stmfnet_trt.io import open_source
from stmfnet_trt.io import video_sink as video_sink_module

EXPECTED_FRAMES = 480  # long_clip: 240 frames, x2


def _start_run(clip: Path, output: Path) -> subprocess.Popen:
    command = [*CLI, "run", str(clip), "-o", str(output), "--backend", "blend", "-q"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())


def _wait_for_temp(folder: Path, process: subprocess.Popen, timeout: float = 60) -> bool:
    """Wait until the run has created its temporary output (it is writing frames)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if any(".partial-" in p.name for p in folder.iterdir()):
            return True
        time.sleep(0.02)
    return False


def _complete(output: Path) -> bool:
    with open_source(output) as source:
        return sum(1 for _ in source) == EXPECTED_FRAMES


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_signal_mid_run_unwinds_like_an_error(tmp_path, long_clip, signum, seed):
    output = tmp_path / "out.mp4"
    process = _start_run(long_clip, output)
    assert _wait_for_temp(tmp_path, process), process.communicate()
    time.sleep(random.Random(seed).uniform(0.0, 0.5))
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:  # finished before the signal: then it must be whole
        assert _complete(output)
    else:
        result = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
        line = assert_one_line_error(result, status=128 + signum) if "error:" in stderr else stderr.strip()
        assert f"stopped by {signal.Signals(signum).name}" in line, stderr
        assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
        assert not output.exists()
    assert hidden_leftovers(tmp_path) == []


@pytest.mark.parametrize("seed", range(3))
def test_sigkill_at_a_random_point_never_leaves_a_partial_final_output(tmp_path, long_clip, seed):
    output = tmp_path / "out.mp4"
    process = _start_run(long_clip, output)
    if random.Random(seed).random() < 0.8:  # mostly mid-write; sometimes during start-up
        _wait_for_temp(tmp_path, process)
    time.sleep(random.Random(seed).uniform(0.0, 1.5))
    process.kill()
    process.communicate(timeout=60)
    assert not output.exists() or _complete(output)
    rerun = run_cli("run", long_clip, "-o", output, "--backend", "blend", "-q", "--overwrite")
    assert rerun.returncode == 0, rerun.stderr
    assert _complete(output)
    assert hidden_leftovers(tmp_path) == []  # the killed run's temporary is gone too


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs, smaller than either output of long_clip (~140 KB as H.264); needs root and
    a kernel that lets this container mount."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()}); injected ENOSPC covers it")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


@pytest.mark.parametrize("name", ["out.mp4", "frames"])
def test_a_really_full_disk_is_one_line_and_leaves_nothing(small_disk, long_clip, name):
    result = run_cli("run", long_clip, "-o", small_disk / name, "--backend", "blend", "-q")
    line = assert_one_line_error(result)
    assert "No space left on device" in line or "finishing the video failed" in line or "writing" in line
    assert list(small_disk.iterdir()) == []


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "/injected")


INJECTION_POINTS = {
    # (module, attribute) replaced by a function that fails the way a full disk does
    "png frame write": (folder_sink_module, "encode_png", "frames"),
    "video frame mux": (video_sink_module.VideoSink, "_mux", "out.mp4"),
    "encoder close": (video_sink_module.VideoSink, "_finish", "out.mp4"),
    "folder marker at commit": (atomic_module.AtomicOutput, "_write_marker", "frames"),
    "final rename": (atomic_module, "rename_no_replace", "out.mp4"),
}


@pytest.mark.parametrize("point", sorted(INJECTION_POINTS))
def test_enospc_injected_at_each_step_is_one_line_and_leaves_nothing(
    tmp_path, short_clip, point, capsys, monkeypatch
):
    owner, attribute, output_name = INJECTION_POINTS[point]
    if point == "folder marker at commit":
        original = owner._write_marker

        def fail_at_commit(self, entries):
            if entries:  # the first call, at creation, lists nothing
                _enospc()
            original(self, entries)

        monkeypatch.setattr(owner, attribute, fail_at_commit)
    else:
        monkeypatch.setattr(owner, attribute, _enospc)
    status = main(["run", str(short_clip), "-o", str(tmp_path / output_name), "--backend", "blend", "-q"])
    stderr = capsys.readouterr().err
    assert status == 2 and "Traceback" not in stderr, stderr
    assert stderr.count("error:") == 1 and "No space left on device" in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_codec_error_at_close_is_one_line(tmp_path, short_clip, capsys, monkeypatch):
    def broken_close(self):
        raise av.error.InvalidDataError(errno.EIO, "Invalid data found when processing input")

    monkeypatch.setattr(av.container.OutputContainer, "close", broken_close, raising=False)
    status = main(["run", str(short_clip), "-o", str(tmp_path / "out.mp4"), "--backend", "blend", "-q"])
    stderr = capsys.readouterr().err
    assert status == 2 and "Traceback" not in stderr and stderr.count("error:") == 1, stderr
