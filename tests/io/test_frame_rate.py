"""Variable-frame-rate input is refused (or read as constant when asked); constant-rate files
with B-frames, coarse clocks and remuxing rounding are not.

Clips are written with PyAV with chosen timestamps; the expected verdicts come from how the
timestamps were made, not from the code under test.
"""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from reader_media import remux, write_clip

from stmfnet_trt.cli.flags import user_message
from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.io import open_sink, open_source
from stmfnet_trt.io.rates import IntervalCheck, as_fps
from stmfnet_trt.io.video_source import TIMING_PREFIX_PACKETS

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
MS = Fraction(1, 1000)


def moving_frames(count: int, height: int = 32, width: int = 48) -> list[np.ndarray]:
    """Frames with a moving bar, so the encoder makes real P and B frames."""
    frames = []
    for index in range(count):
        frame = np.full((height, width, 3), 40, np.uint8)
        frame[:, (2 * index) % width : (2 * index) % width + 6] = (220, 180, 60)
        frames.append(frame)
    return frames


def rounded(times: list[Fraction], time_base: Fraction) -> list[int]:
    """Timestamps as a muxer stores them: each time rounded to the clock."""
    return [round(time / time_base) for time in times]


def constant(count: int, fps: Fraction) -> list[Fraction]:
    return [index / fps for index in range(count)]


def read_count(path: Path, **options: object) -> int:
    with open_source(path, **options) as source:
        return sum(1 for _ in source)


B_FRAMES = {"bf": "3", "crf": "30"}


@pytest.mark.parametrize(
    ("name", "fps", "time_base"),
    [
        ("ntsc_ms.mkv", Fraction(30000, 1001), MS),  # 33 and 34 ms
        ("fast_ms.mkv", Fraction(120), MS),  # 8 and 9 ms: 12 % apart, still constant
        ("film.mp4", Fraction(24000, 1001), Fraction(1, 24000)),
        ("ntsc.ts", Fraction(30000, 1001), Fraction(1, 90000)),
        ("pal.mov", Fraction(25), Fraction(1, 12800)),
    ],
)
def test_constant_rate_with_b_frames_and_clock_rounding_is_accepted(tmp_path, name, fps, time_base):
    pts = rounded(constant(60, fps), time_base)
    clip = write_clip(tmp_path / name, moving_frames(60), pts=pts, time_base=time_base, options=B_FRAMES)
    assert read_count(clip) == 60


def test_millisecond_clip_remuxed_into_a_finer_clock_is_accepted(tmp_path):
    """Rounded twice: to 1 ms (Matroska), then to 1/15360 s (an MP4 timescale FFmpeg picks)."""
    ms_times = [Fraction(t, 1000) for t in rounded(constant(60, Fraction(30000, 1001)), MS)]
    pts = rounded(ms_times, Fraction(1, 15360))
    intervals = set(np.diff(pts))
    assert max(intervals) - min(intervals) == 17  # 1 ms is 15.36 ticks: more than 1 ms + 1 tick
    clip = write_clip(tmp_path / "remuxed.mp4", moving_frames(60), pts=pts, time_base=Fraction(1, 15360))
    assert read_count(clip) == 60
    mkv = write_clip(tmp_path / "b.mkv", moving_frames(60), pts=rounded(constant(60, 60), MS), time_base=MS)
    assert read_count(remux(mkv, tmp_path / "b.mp4")) == 60


def test_project_and_reference_clips_are_constant_rate(assets_dir):
    clips = [assets_dir / "demo.mp4", assets_dir / "carphone_12.mp4"]
    clips += [OPENCV_DATA / name for name in ("vtest.avi", "Megamind.avi") if (OPENCV_DATA / name).exists()]
    for clip in clips:
        with open_source(clip) as source:
            assert sum(1 for _ in source) == source.frame_count, clip


def vfr_clip(path: Path, time_base: Fraction = MS) -> Path:
    """30 frames at 30 fps, then 30 at 24 fps: a phone dimming its frame rate."""
    times = constant(30, Fraction(30)) + [1 + index / Fraction(24) for index in range(30)]
    return write_clip(path, moving_frames(60), pts=rounded(times, time_base), time_base=time_base)


@pytest.mark.parametrize(("name", "time_base"), [("phone.mkv", MS), ("phone.mp4", Fraction(1, 90000))])
def test_variable_rate_is_refused_when_opening_with_the_range_and_the_way_out(tmp_path, name, time_base):
    clip = vfr_clip(tmp_path / name, time_base)
    with pytest.raises(InputError) as refused:
        open_source(clip)
    message = str(refused.value)
    assert "\n" not in message
    # 33.3 and 41.7 ms, or 33/34 and 41/42 on a millisecond clock
    assert re.search(
        rf"{name}: variable frame rate \(frame intervals range from 33\.[03] to 4(1\.7|2\.0) ms "
        r"\((24|23\.81) to 30(\.3)? fps\)\)",
        message,
    ), message
    assert message.endswith("or accept that with assume_constant_rate=True")
    assert user_message(refused.value).endswith("or accept that with --assume-cfr")  # the CLI's reading


def test_jitter_beyond_the_clock_rounding_is_variable(tmp_path):
    # odd frames 4 ms late: intervals of 37.3 and 29.3 ms, as a webcam's capture jitter gives
    times = [Fraction(index, 30) + (index % 2) * Fraction(4, 1000) for index in range(40)]
    clip = write_clip(tmp_path / "jitter.mkv", moving_frames(40), pts=rounded(times, MS), time_base=MS)
    with pytest.raises(InputError, match="variable frame rate"):
        open_source(clip)


def test_assume_constant_rate_reads_every_frame_at_the_average_rate(tmp_path, caplog):
    clip = vfr_clip(tmp_path / "phone.mp4", Fraction(1, 90000))
    with caplog.at_level(logging.WARNING), open_source(clip, assume_constant_rate=True) as source:
        frames = list(source)
        assert source.fps == pytest.approx(60 / (1 + 29 / 24), rel=0.02)  # frames over the span
    assert len(frames) == 60
    assert caplog.text.count("variable frame rate") == 1


def test_a_rate_change_after_the_checked_prefix_fails_before_the_output_is_committed(tmp_path):
    count = TIMING_PREFIX_PACKETS + 40
    times = constant(count, Fraction(30))
    times[count - 20 :] = [time + Fraction(1, 30) for time in times[count - 20 :]]  # one frame dropped
    clip = write_clip(
        tmp_path / "capture.mkv", moving_frames(count, 16, 16), pts=rounded(times, MS), time_base=MS
    )
    output = tmp_path / "out.mp4"
    read = 0
    with (
        open_source(clip) as source,  # the prefix is regular: opening reads only that
        pytest.raises(InputError, match=r"capture\.mkv: variable frame rate .* 33\.0 to 67\.0 ms"),
        open_sink(output, source.width, source.height, source.fps) as sink,
    ):
        for frame in source:
            sink.write(frame)
            read += 1
    assert TIMING_PREFIX_PACKETS <= read < count
    assert not output.exists()
    assert read_count(clip, assume_constant_rate=True) == count


# --- the interval check itself ----------------------------------------------------------------


def fed(time_base: Fraction, timestamps: list[int | None]) -> IntervalCheck:
    check = IntervalCheck(time_base)
    for pts in timestamps:
        check.add(pts)
    check.finish()
    return check


def test_interval_check_reorders_decode_order_and_tolerates_clock_rounding():
    display = [index * 1001 for index in range(40)]
    decode_order = [display[0]]
    for start in range(1, 37, 4):  # each P frame is decoded before the three B frames shown first
        decode_order += [display[start + 3], display[start], display[start + 1], display[start + 2]]
    assert sorted(decode_order) == display[: len(decode_order)]
    assert fed(Fraction(1, 30000), decode_order).regular
    assert fed(MS, rounded(constant(50, Fraction(30000, 1001)), MS)).regular  # 33/34
    assert fed(MS, [0, None, 33, 67, None, 100]).regular  # missing timestamps are skipped


def test_interval_check_limits():
    assert fed(MS, [0, 33, 66, 99, 135]).regular  # 33 and 36 ms: 1 ms + 2 ticks = 3 ms apart allowed
    assert not fed(MS, [0, 33, 66, 99, 136]).regular  # 4 ms apart
    assert not fed(MS, [0, 33, 66, 66, 99]).regular  # a repeated timestamp: interval 0
    assert not fed(MS, [*range(0, 40 * 33, 33), 5]).regular  # back in time, beyond any reorder depth
    spread = fed(MS, [0, 33, 66, 108]).spread
    assert spread is not None and spread.describe() == (
        "frame intervals range from 33.0 to 42.0 ms (23.81 to 30.3 fps)"
    )
    assert fed(MS, [7]).spread is None and fed(MS, [7]).regular


def test_rates_the_writers_cannot_store_are_refused_up_front():
    """1e30 fps overflowed in the sink, after all the work; a typed-out n/1001 decimal too."""
    assert as_fps("29.97002997002997") == Fraction(30000, 1001)
    assert as_fps("1/3600") == Fraction(1, 3600) and as_fps(10_000) == 10_000
    assert as_fps("2147483647/2147483646") == 1  # denominator bounded: 5e-10 away
    for bad in ("1e30", "10001", "1/100000000"):
        with pytest.raises(
            UserError, match=rf"frame rate '{re.escape(bad)}' is outside the supported 1/3600 to 10000 fps"
        ):
            as_fps(bad)
