"""`run --preset / --encoder-threads`: what x264 is told is what it writes into its stream, and
settings that cannot apply are refused in one line before any work."""

from __future__ import annotations

import shlex

import pytest

from stmfnet_trt.cli import main
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.io import open_sink

USER_ERROR = 2


def x264_settings(video) -> str:
    """The option string libx264 writes into its stream (an SEI message of the first frame)."""
    data = video.read_bytes()
    start = data.index(b"x264 - core")
    return data[start : data.index(b"\x00", start)].decode("ascii", "replace")


def test_the_preset_and_threads_reach_the_encoder(tmp_path, assets_dir):
    clip = assets_dir / "carphone_12.mp4"
    default, fast = tmp_path / "default.mp4", tmp_path / "fast.mp4"
    assert main(["run", str(clip), "-o", str(default), "--backend", "blend", "-q"]) == 0
    command = f"run {clip} -o {fast} --backend blend -q --preset ultrafast --encoder-threads 1"
    assert main(shlex.split(command)) == 0
    medium, ultrafast = x264_settings(default), x264_settings(fast)
    assert "cabac=1" in medium and "subme=7" in medium  # medium's
    assert "sliced_threads=0" in medium  # frame threads, as the ffmpeg tool runs libx264
    assert "cabac=0" in ultrafast and "subme=0" in ultrafast and " threads=1 " in ultrafast


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--preset sluggish", "invalid choice: 'sluggish'"),
        ("--encoder-threads 0", "must be >= 1"),
    ],
)
def test_settings_out_of_range_are_refused_by_the_parser(tmp_path, assets_dir, capsys, options, message):
    command = f"run {assets_dir / 'carphone_12.mp4'} -o {tmp_path / 'out.mp4'} --backend blend {options}"
    with pytest.raises(SystemExit) as exit_info:
        main(shlex.split(command))
    assert exit_info.value.code == USER_ERROR and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_encoder_settings_for_a_frame_folder_are_refused_before_any_work(tmp_path, assets_dir, capsys):
    command = f"run {assets_dir / 'carphone_12.mp4'} -o {tmp_path / 'frames'} --backend blend --preset fast"
    assert main(shlex.split(command)) == USER_ERROR
    assert "no video encoder to set --preset or --encoder-threads for" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_open_sink_refuses_what_the_parser_would(tmp_path):
    refusals = (
        ("sluggish", None, "preset must be one of ultrafast"),
        (None, 0, "encoder_threads must be at least 1"),
    )
    for preset, threads, message in refusals:
        with pytest.raises(UserError, match=message):
            open_sink(tmp_path / "out.mp4", 176, 144, 25, preset=preset, encoder_threads=threads)
    assert list(tmp_path.iterdir()) == []


def test_encoder_settings_for_a_stream_are_refused(capsys):
    assert main(["run", "-", "-o", "-", "--backend", "blend", "--encoder-threads", "2"]) == USER_ERROR
    assert "a stream writes y4m, unencoded" in capsys.readouterr().err
