"""The `stmfnetinterp` GStreamer element in real gst-launch-1.0 pipelines: buffer counts and exact
timestamps, EOS, the frames the pipe gives, a decodebin source to an MP4 file, bounded memory under
a live source faster than the backend, and caps it cannot take -> one clear error, no hang.

Skipped with the reason where GStreamer or its Python plugin loader is not installed (`make
ci-deps` installs them on Debian CI machines)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import pytest
from pipeline_commands import GST_DECODE_TO_MP4, GST_ENVIRONMENT, GST_TESTSRC_TO_FILE, GST_TIMESTAMPS
from pipeline_helpers import TIMEOUT_S, needs_ffmpeg, sh, shell_env, split_y4m

from stmfnet_trt.gst import SYSTEM_PYTHON, environment
from stmfnet_trt.io import open_source

GST_TIMEOUT_S = 20
_TIME = r"(\d+):(\d\d):(\d\d)\.(\d{9})"
_CHAIN = re.compile(rf"chain .*?pts: {_TIME}, duration: {_TIME}")


@pytest.fixture(scope="session")
def gst_env(tmp_path_factory) -> dict[str, str]:
    """The settings `python -m stmfnet_trt.gst` prints, with a registry of our own."""
    if shutil.which("gst-launch-1.0") is None:
        pytest.skip("needs gst-launch-1.0 (Debian: gstreamer1.0-tools; make ci-deps installs it)")
    env = {**environment(), "GST_REGISTRY": str(tmp_path_factory.mktemp("gst") / "registry.bin")}
    probe = subprocess.run(
        ["gst-inspect-1.0", "stmfnetinterp"], env=shell_env(**env), capture_output=True, timeout=GST_TIMEOUT_S
    )
    if probe.returncode != 0:
        why = (probe.stderr.decode().strip().splitlines() or ["no such element"])[-1]
        pytest.skip(
            "the element does not load (needs python3-gst-1.0, gstreamer1.0-python3-plugin-loader and a "
            f"venv on the system's Python version): {why}"
        )
    return env


def gst(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return sh(command, cwd=cwd, timeout=GST_TIMEOUT_S, **env)


def nanoseconds(hours: str, minutes: str, seconds: str, fraction: str) -> int:
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 10**9 + int(fraction)


def buffers(output: bytes) -> list[tuple[int, int]]:
    """(pts, duration) in ns of each buffer a `fakesink silent=false` under `-v` reported."""
    return [
        (nanoseconds(*m.groups()[:4]), nanoseconds(*m.groups()[4:]))
        for m in _CHAIN.finditer(output.decode(errors="replace"))
    ]


def test_readme_environment_line_makes_the_element_load(tmp_path, gst_env):
    registry = str(tmp_path / "registry.bin")
    done = sh(f"{GST_ENVIRONMENT} && gst-inspect-1.0 stmfnetinterp", cwd=tmp_path, GST_REGISTRY=registry)
    assert done.returncode == 0, done.stderr.decode()
    assert b"Multiplies the frame rate by 2, 4 or 8" in done.stdout


def test_readme_timestamps_are_exactly_factor_times_the_rate(tmp_path, gst_env):
    done = gst(GST_TIMESTAMPS, tmp_path, gst_env)
    assert done.returncode == 0, done.stderr.decode()
    period = Fraction(1001, 120000) * 10**9  # 4 x 30000/1001 fps
    grid = [int(k * period) for k in range(81)]
    assert buffers(done.stdout) == [(grid[k], grid[k + 1] - grid[k]) for k in range(80)]
    assert b"Got EOS from element" in done.stdout


def test_readme_testsrc_to_file_gives_the_pipes_frames(tmp_path, gst_env):
    done = gst(GST_TESTSRC_TO_FILE, tmp_path, gst_env)
    assert done.returncode == 0, done.stderr.decode()
    header, frames = split_y4m((tmp_path / "x4.y4m").read_bytes())
    assert b" F120000:1001 " in header + b" " and len(frames) == 200
    source = GST_TESTSRC_TO_FILE.split(" ! stmfnetinterp")[0] + " ! y4menc ! filesink location=in.y4m"
    assert gst(source, tmp_path, gst_env).returncode == 0
    piped = sh("stmfnet-trt run - -o - --backend blend --factor 4 -q < in.y4m", cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr.decode()
    assert split_y4m(piped.stdout)[1] == frames


@needs_ffmpeg
def test_readme_decodebin_to_mp4_with_the_model(tmp_path, gst_env, in_mp4, demo_onnx):
    done = gst(GST_DECODE_TO_MP4, tmp_path, gst_env)
    assert done.returncode == 0, done.stderr.decode()
    with open_source(tmp_path / "gst_x2.mp4") as result, open_source(in_mp4) as original:
        assert result.fps == 2 * original.fps == Fraction(60000, 1001)
        assert sum(1 for _ in result) == 12 and (result.width, result.height) == (96, 72)


@pytest.mark.parametrize("format_", ["RGB", "I420", "NV12", "Y444", "GRAY8"])
def test_every_format_at_odd_sizes_to_fakesink(tmp_path, gst_env, format_):
    command = (
        "gst-launch-1.0 -v videotestsrc num-buffers=7 pattern=ball"
        f" ! video/x-raw,format={format_},width=99,height=71,framerate=25/1"
        f" ! stmfnetinterp backend=blend ! video/x-raw,format={format_},framerate=50/1"
        " ! fakesink silent=false"
    )
    done = gst(command, tmp_path, gst_env)
    assert done.returncode == 0, done.stderr.decode()
    assert [pts for pts, _ in buffers(done.stdout)] == [k * 20_000_000 for k in range(14)]
    assert b"Got EOS from element" in done.stdout


def vm_rss_kib(pid: int) -> int | None:
    """Resident memory of a process, None once it has exited (a zombie has no VmRSS)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    rss = [line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")]
    return int(rss[0]) if rss else None


def test_memory_stays_bounded_when_the_source_outruns_the_backend(tmp_path, gst_env):
    """A live 1000 fps source of 320x256 frames (a 1.2 MB float frame each) into a backend that
    manages a few hundred: back-pressure, not a growing queue. RSS after the first third of the
    run and at its end must agree within 16 MB (an unbounded queue would hold hundreds of MB)."""
    command = (
        "gst-launch-1.0 -q videotestsrc is-live=true num-buffers=600 pattern=ball"
        " ! video/x-raw,width=320,height=256,framerate=1000/1 ! stmfnetinterp backend=blend"
        " ! fakesink sync=false"
    )
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], env=shell_env(**gst_env), cwd=tmp_path)
    samples: list[int] = []
    try:
        while process.poll() is None and (rss := vm_rss_kib(process.pid)) is not None:
            samples.append(rss)
            time.sleep(0.02)
        assert process.wait(timeout=GST_TIMEOUT_S) == 0
    finally:
        process.kill()
        process.wait(timeout=TIMEOUT_S)
    assert len(samples) > 30, "the run was too short to judge"
    third = len(samples) // 3
    assert max(samples) - max(samples[: third + 1]) < 16 * 1024, (max(samples[: third + 1]), max(samples))


@pytest.mark.parametrize(
    ("caps", "properties", "message"),
    [
        ("width=32,height=32,framerate=25/1", "", "frame height 32 is too small"),
        (
            "width=96,height=72,framerate=25/1,interlace-mode=interleaved",
            "",
            "interlaced video is not supported",
        ),
        ("width=96,height=72,framerate=0/1", "", "no fixed frame rate"),
        ("width=96,height=72,framerate=25/1", "factor=3", "factor must be one of (2, 4, 8), got 3"),
        ("width=96,height=72", "backend=onnxruntime model=/nonexistent.onnx", "not found: /nonexistent.onnx"),
    ],
    ids=["too-small", "interlaced", "variable-rate", "factor-3", "missing-model"],
)
def test_what_it_cannot_take_is_one_clear_error(tmp_path, gst_env, caps, properties, message):
    """Through a small application (gst_app.py; gst-launch 1.22 itself can hang after a preroll
    error): exactly one error on the bus, ours, saying why; the pipeline stops."""
    if not Path(SYSTEM_PYTHON).is_file():
        pytest.skip(f"needs the system Python with PyGObject ({SYSTEM_PYTHON})")
    description = (
        f"videotestsrc num-buffers=5 ! video/x-raw,{caps}"
        f" ! stmfnetinterp backend=blend {properties} ! fakesink"
    )
    done = subprocess.run(
        [SYSTEM_PYTHON, str(Path(__file__).with_name("gst_app.py")), description, "20"],
        env=shell_env(**gst_env),
        capture_output=True,
        timeout=GST_TIMEOUT_S,
    )
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stdout.decode() + done.stderr.decode()
    assert lines[0].startswith("ERROR stmfnetinterp0: stmfnetinterp: ") and message in lines[0], lines


def test_a_format_outside_the_template_does_not_link(tmp_path, gst_env):
    done = gst(
        "gst-launch-1.0 videotestsrc num-buffers=5 ! video/x-raw,format=GRAY16_LE,width=96,height=72"
        " ! stmfnetinterp backend=blend ! fakesink",
        tmp_path,
        gst_env,
    )
    assert done.returncode != 0
    assert b"could not link videotestsrc0 to stmfnetinterp0" in done.stdout + done.stderr


SEEK_AND_LATENCY = """
import json, time, gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst
Gst.init(None)
pipeline = Gst.parse_launch(
    "videotestsrc num-buffers=60 ! video/x-raw,width=96,height=72,framerate=25/1"
    " ! stmfnetinterp name=interp backend=blend factor=4 batch-size=2 ! fakesink name=sink sync=true"
)
stamps = []
sink = pipeline.get_by_name("sink")
sink.set_property("signal-handoffs", True)
sink.connect("handoff", lambda element, buffer, pad: stamps.append(buffer.pts))
pipeline.set_state(Gst.State.PLAYING)
pipeline.get_state(Gst.CLOCK_TIME_NONE)
time.sleep(0.3)
latency, upstream = Gst.Query.new_latency(), Gst.Query.new_latency()
pipeline.get_by_name("interp").get_static_pad("src").query(latency)
pipeline.get_by_name("interp").get_static_pad("sink").peer_query(upstream)
before = len(stamps)
seeked = pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH, 2 * Gst.SECOND)
message = pipeline.get_bus().timed_pop_filtered(20 * Gst.SECOND, Gst.MessageType.ERROR | Gst.MessageType.EOS)
pipeline.set_state(Gst.State.NULL)
print(json.dumps({"seeked": seeked, "eos": message is not None and message.type == Gst.MessageType.EOS,
                  "added": latency.parse_latency()[1] - upstream.parse_latency()[1],
                  "stamps": stamps[before:]}))
"""


def test_a_flushing_seek_restarts_the_grid_and_latency_counts_the_look_ahead(tmp_path, gst_env):
    """After a flushing seek to 2 s the output restarts at 2 s on the 100 fps grid and runs to EOS;
    the latency query adds the look-ahead: 2 frames per x2 level plus the batch, 5 x 40 ms here."""
    if not Path(SYSTEM_PYTHON).is_file():
        pytest.skip(f"needs the system Python with PyGObject ({SYSTEM_PYTHON})")
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", SEEK_AND_LATENCY],
        env=shell_env(**gst_env),
        capture_output=True,
        timeout=GST_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["seeked"] and result["eos"] and result["added"] == 5 * 40_000_000
    after = [pts for pts in result["stamps"] if pts >= 2 * 10**9]
    assert after and after[0] == 2 * 10**9
    assert after == [2 * 10**9 + k * 10_000_000 for k in range(len(after))]
