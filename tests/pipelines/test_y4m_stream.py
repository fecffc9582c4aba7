"""y4m parsing and the streamed run in-process: every layout gives the frames `run` gives the same
file, rates multiply exactly, headers that cannot be read are refused with one clear message."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from pipeline_helpers import ASSETS, ffmpeg_y4m, needs_ffmpeg, split_y4m

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.io import open_source
from stmfnet_trt.io.y4m import Y4MReader, parse_header
from stmfnet_trt.io.yuv import FrameConverter
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.blend import BlendBackend
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats
from stmfnet_trt.runtime.scheduling.stream import StreamOptions, interpolate_y4m
from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video

CARPHONE = ASSETS / "carphone_12.mp4"


def stream(data: bytes, backend: Backend | None = None, **options) -> tuple[bytes, object]:
    sink = io.BytesIO()
    summary = interpolate_y4m(io.BytesIO(data), sink, backend or BlendBackend(), StreamOptions(**options))
    return sink.getvalue(), summary


def run_frames(y4m: bytes, folder: Path, backend: Backend | None = None, factor: int = 2) -> list[np.ndarray]:
    """`run`'s frames for the same y4m as a file (PNG output: lossless RGB)."""
    source = folder / "in.y4m"
    source.write_bytes(y4m)
    options = RunOptions(factor=factor, progress=False)
    interpolate_video(source, folder / "out", backend or BlendBackend(), options)
    with open_source(folder / "out") as frames:
        return list(frames)


@pytest.mark.parametrize(
    ("line", "pix_fmt", "matrix", "colour_range"),
    [
        (b"YUV4MPEG2 W176 H144 F25:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n", "yuv420p", "bt601", "limited"),
        (b"YUV4MPEG2 W176 H144 F25:1 C420paldv\n", "yuv420p", "bt601", "limited"),
        (b"YUV4MPEG2 W1280 H720 F25:1 C420mpeg2 XCOLORRANGE=FULL\n", "yuv420p", "bt709", "full"),
        (b"YUV4MPEG2 W720 H576 F25:1 I? C444\n", "yuv444p", "bt601", "limited"),
        (b"YUV4MPEG2 W720 H577 F25:1 C422\n", "yuv422p", "bt709", "limited"),
        (b"YUV4MPEG2 W99 H71 F25:1 Cmono XCOLORRANGE=FULL\n", "gray", "bt601", "full"),
        (b"YUV4MPEG2 W99 H71 F25:1\n", "yuv420p", "bt601", "limited"),  # no C: 4:2:0 by the spec
    ],
)
def test_headers_give_layout_and_colour(line, pix_fmt, matrix, colour_range):
    header = parse_header(line)
    assert header.layout.pix_fmt == pix_fmt
    assert (header.colour().matrix, header.colour().range) == (matrix, colour_range)
    assert header.colour("bt709").matrix == "bt709"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"YUV4MPEG2 W64 H64 F25:1 C420p10 XYSCSS=420P10\n", "more than 8 bits"),
        (b"YUV4MPEG2 W64 H64 F25:1 Cmono16\n", "more than 8 bits"),
        (b"YUV4MPEG2 W64 H64 F25:1 C444alpha\n", "C444alpha is not supported"),
        (b"YUV4MPEG2 W64 H64 F25:1 C411\n", "C411 is not supported"),
        (b"YUV4MPEG2 W64 H64 F25:1 It C420jpeg\n", "interlaced (It)"),
        (b"YUV4MPEG2 W64 H64 F25:1 Ib\n", "interlaced (Ib)"),
        (b"YUV4MPEG2 W64 H64 F25:1 Im\n", "interlaced (Im)"),
        (b"YUV4MPEG2 W64 F25:1\n", "no frame size"),
        (b"YUV4MPEG2 W-4 H64 F25:1\n", "not a positive integer"),
        (b"YUV4MPEG2 W64 H9999999999 F25:1\n", "beyond 16384 px"),
        (b"YUV4MPEG2 W64 H64 F25\n", "is not N:D"),
        (b"\x89PNG\r\n\x1a\n", "not a YUV4MPEG2 stream"),
        (b"YUV4MPEG2 W64 H64 F25:1", "not a YUV4MPEG2 stream"),  # no end of line
    ],
)
def test_unreadable_headers_are_refused(line, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_header(line)


def test_a_header_without_a_rate_needs_fps():
    frame = b"FRAME\n" + bytes(96 * 72 * 3 // 2)
    data = b"YUV4MPEG2 W96 H72 F0:0 C420jpeg\n" + frame * 3
    with pytest.raises(InputError, match="states no frame rate"):
        stream(data)
    out, summary = stream(data, input_fps=Fraction(24000, 1001))
    assert out.startswith(b"YUV4MPEG2 W96 H72 F48000:1001 ") and summary.output_frames == 6


@needs_ffmpeg
@pytest.mark.parametrize(
    ("pix_fmt", "chroma_tag"),
    [
        ("yuv420p", None),
        ("yuv420p", b"C420paldv"),
        ("yuv420p", b"C420mpeg2"),
        ("yuv422p", None),
        ("yuv444p", None),
        ("gray", None),
        ("yuvj420p", None),  # XCOLORRANGE=FULL
    ],
)
def test_stream_gives_runs_frames_for_every_layout(tmp_path, pix_fmt, chroma_tag):
    """The same y4m through `run` (as a file) and through the pipe: the pipe's frames are `run`'s
    RGB frames converted back with the stream's own layout and colour, bit for bit."""
    y4m = ffmpeg_y4m(f"-i {CARPHONE} -frames:v 5 -vf scale=99:71 -pix_fmt {pix_fmt}")
    if chroma_tag is not None:  # the siting variants ffmpeg writes for other sources
        y4m = y4m.replace(b"C420jpeg", chroma_tag, 1)
    out, summary = stream(y4m)
    header, frames = split_y4m(out)
    reader_header = Y4MReader(io.BytesIO(y4m)).header
    expected = [
        FrameConverter(reader_header.layout, reader_header.colour()).to_planes(f)
        for f in run_frames(y4m, tmp_path)
    ]
    assert header == y4m.partition(b"\n")[0].replace(b"F30000:1001", b"F60000:1001")  # rest echoed
    assert len(frames) == len(expected) == 10 == summary.output_frames
    assert [f == b"".join(p.tobytes() for p in e) for f, e in zip(frames, expected, strict=True)] == [
        True
    ] * 10


@needs_ffmpeg
@pytest.mark.parametrize(
    ("factor", "rate"), [(2, b"F60000:1001"), (4, b"F120000:1001"), (8, b"F240000:1001")]
)
def test_rates_multiply_exactly(factor, rate):
    y4m = ffmpeg_y4m(f"-i {CARPHONE} -frames:v 3 -pix_fmt yuv420p")
    assert b" F30000:1001 " in y4m.partition(b"\n")[0]
    out, summary = stream(y4m, factor=factor)
    header, frames = split_y4m(out)
    assert rate in header.split() and len(frames) == 3 * factor
    assert summary.output_fps == Fraction(30000, 1001) * factor


class DivergingBackend(Backend):
    """Outputs far outside [0, 1] for every window: each must become the blend of its pair."""

    name = "diverging"

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        return windows[:, 1] * 0 + 40.0


@needs_ffmpeg
def test_scene_cuts_and_diverged_windows_as_in_run(tmp_path):
    first = ffmpeg_y4m(f"-i {CARPHONE} -frames:v 4 -vf scale=96:72 -pix_fmt yuv420p")
    other = ffmpeg_y4m("-f lavfi -i testsrc=size=96x72:rate=30000/1001 -frames:v 4 -pix_fmt yuv420p")
    header, frames_a = split_y4m(first)
    _, frames_b = split_y4m(other)
    y4m = header + b"\n" + b"".join(b"FRAME\n" + f for f in frames_a + frames_b)  # a cut after frame 3
    out, summary = stream(y4m, backend=DivergingBackend())
    assert summary.stats.scene_cuts == 1 and summary.stats.diverged_windows == summary.stats.windows == 6
    reference = Y4MReader(io.BytesIO(y4m)).header
    expected = [
        b"".join(p.tobytes() for p in FrameConverter(reference.layout, reference.colour()).to_planes(f))
        for f in run_frames(y4m, tmp_path, DivergingBackend())
    ]
    assert split_y4m(out)[1] == expected
    assert split_y4m(out)[1][7] == split_y4m(out)[1][6]  # the pair across the cut: a copy


@needs_ffmpeg
@pytest.mark.parametrize("cut", ["inside-frame", "inside-marker", "garbage-marker"])
def test_damaged_stream_delivers_the_complete_frames_then_fails(cut):
    y4m = ffmpeg_y4m(f"-i {CARPHONE} -frames:v 5 -vf scale=96:72 -pix_fmt yuv420p")
    frame = 96 * 72 * 3 // 2 + len(b"FRAME\n")
    header_end = y4m.index(b"\n") + 1
    damaged = {
        "inside-frame": y4m[: header_end + 3 * frame + 100],
        "inside-marker": y4m[: header_end + 3 * frame + 3],
        "garbage-marker": y4m[: header_end + 3 * frame] + b"JUNK" * 5000,
    }[cut]
    sink = io.BytesIO()
    with pytest.raises(InputError, match=r"truncated: frame 3 has|damaged after 3 frames"):
        interpolate_y4m(io.BytesIO(damaged), sink, BlendBackend())
    assert len(split_y4m(sink.getvalue())[1]) == 6  # the 3 complete frames, x2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"YUV4MPEG2 W96 H72 F25:1\n" + b"FRAME\n" + bytes(96 * 72 * 3 // 2), "need at least 2 frames"),
        (b"YUV4MPEG2 W32 H32 F25:1\n", "too small"),
    ],
    ids=["empty", "one-frame", "too-small"],
)
def test_streams_that_cannot_be_interpolated_write_nothing(data, message):
    sink = io.BytesIO()
    with pytest.raises(InputError, match=message):
        interpolate_y4m(io.BytesIO(data), sink, BlendBackend())
    assert sink.getvalue() == b""


def test_max_frames_stops_reading():
    frame = b"FRAME\n" + bytes(96 * 72 * 3 // 2)
    source = io.BytesIO(b"YUV4MPEG2 W96 H72 F25:1\n" + frame * 10)
    sink = io.BytesIO()
    summary = interpolate_y4m(source, sink, BlendBackend(), StreamOptions(max_frames=4))
    assert (summary.input_frames, summary.output_frames) == (4, 8)
    assert source.tell() == len(b"YUV4MPEG2 W96 H72 F25:1\n") + 4 * len(frame)  # nothing read beyond
    assert isinstance(summary.stats, SchedulerStats)
