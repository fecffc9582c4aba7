"""Frames come out upright: video display matrices (phone footage) and EXIF orientation.

Oracles independent of the code under test: the ``ffmpeg`` tool's autorotate for video (the
reference players follow), Pillow's ``ImageOps.exif_transpose`` for still images, and NumPy's
``rot90`` for the pure rotations (FFmpeg reports a display matrix's rotation counterclockwise).
"""

from __future__ import annotations

import gc
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest
from reader_media import (
    encode_still,
    exif_tiff,
    jpeg_with_exif,
    pattern,
    png_with_exif,
    write_clip,
)

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.io import open_sink, open_source
from stmfnet_trt.io import orientation as orientation_module
from stmfnet_trt.io.images import exif_orientation
from stmfnet_trt.io.orientation import Orientation, frame_orientation

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None, reason="the ffmpeg tool (the autorotate oracle) is not installed"
)

# Every display matrix PyAV can write: 4 rotations x mirror x flip, 8 distinct orientations.
DISPLAY_CASES = [
    (degrees, hflip, vflip) for degrees in (0, 90, 180, 270) for hflip in (0, 1) for vflip in (0, 1)
]


def ffmpeg_autorotated(path: Path) -> np.ndarray:
    """The first frame as the ffmpeg tool shows it (autorotate is on by default)."""
    probe = subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    with open_source(path) as source:  # only for the shape, which the bytes must fill exactly
        shape = (source.height, source.width, 3)
    raw = np.frombuffer(probe.stdout, np.uint8)
    assert raw.size == np.prod(shape), f"ffmpeg gave {raw.size} bytes for {shape}"
    return raw.reshape(shape)


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return pattern()


def displayed(picture: np.ndarray, degrees: int, hflip: bool, vflip: bool) -> np.ndarray:
    """What PyAV's ``set_display_rotation(degrees, hflip, vflip)`` asks a player to show: the
    picture turned counterclockwise, then mirrored left-right and/or top-bottom."""
    shown = np.rot90(picture, k=degrees // 90)
    shown = shown[:, ::-1] if hflip else shown
    return shown[::-1] if vflip else shown


@pytest.mark.parametrize(("degrees", "hflip", "vflip"), DISPLAY_CASES)
def test_display_matrix_turns_video_as_players_show_it(tmp_path, picture, degrees, hflip, vflip):
    clip = write_clip(tmp_path / "phone.mp4", [picture] * 3, rotation=(degrees, bool(hflip), bool(vflip)))
    with open_source(clip) as source:
        frames = list(source)
        size = (source.width, source.height)
    expected = displayed(picture, degrees, bool(hflip), bool(vflip))
    assert size == (expected.shape[1], expected.shape[0]) == ((48, 64) if degrees in (90, 270) else (64, 48))
    assert len(frames) == 3 and all(f.shape == expected.shape and f.flags.c_contiguous for f in frames)
    assert np.abs(frames[2].astype(int) - expected.astype(int)).max() <= 3  # lossless but for YUV rounding
    if FFMPEG is not None:
        assert np.abs(frames[0].astype(int) - ffmpeg_autorotated(clip).astype(int)).max() <= 2


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_the_red_corner_lands_where_the_turn_puts_it(tmp_path, picture, degrees):
    clip = write_clip(tmp_path / "turned.mp4", [picture] * 2, rotation=(degrees, False, False))
    with open_source(clip) as source:
        first = next(iter(source))
    # stored top-left; turned counterclockwise it goes to bottom-left, bottom-right, top-right
    red_corner = {90: first[-16:, :16], 180: first[-16:, -16:], 270: first[:16, -16:]}[degrees]
    assert np.abs(red_corner.astype(int) - (250, 20, 20)).max() <= 3


@needs_ffmpeg
@pytest.mark.parametrize("rotate", ["90", "180", "270"])
def test_ffmpeg_rotate_tag_clips_come_out_as_ffmpeg_shows_them(tmp_path, picture, rotate):
    """Clips tagged the way older phones and tools do (``-metadata:s:v rotate=``)."""
    plain = write_clip(tmp_path / "plain.mp4", [picture] * 3)
    tagged = tmp_path / f"rotate{rotate}.mp4"
    subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-i",
            str(plain),
            "-c",
            "copy",
            "-metadata:s:v",
            f"rotate={rotate}",
            str(tagged),
        ],
        check=True,
    )
    with open_source(plain) as source:
        stored = next(iter(source))
    with open_source(tagged) as source:
        first = next(iter(source))
    assert first.shape == ((48, 64, 3) if rotate == "180" else (64, 48, 3))
    assert np.array_equal(first, ffmpeg_autorotated(tagged))
    turns = [k for k in (1, 2, 3) if np.array_equal(np.rot90(stored, k=k), first)]
    assert len(turns) == 1  # exactly the stored frame, turned by a multiple of 90 degrees


@pytest.mark.parametrize("sink_name", ["upright.mp4", "upright_frames"])
def test_every_output_kind_is_upright(tmp_path, picture, sink_name):
    clip = write_clip(tmp_path / "phone.mp4", [picture] * 3, rotation=(270, False, False))
    with open_source(clip) as source:
        upright = list(source)
        with open_sink(tmp_path / sink_name, source.width, source.height, Fraction(25)) as sink:
            for frame in upright:
                sink.write(frame)
    assert np.abs(upright[0].astype(int) - np.rot90(picture, k=-1).astype(int)).max() <= 3  # 90 clockwise
    with open_source(tmp_path / sink_name, fps=25) as back:
        frames = list(back)
        assert (back.width, back.height) == (48, 64)
    assert len(frames) == 3
    error = np.abs(np.stack(frames).astype(int) - np.stack(upright).astype(int))
    if sink_name.endswith(".mp4"):
        assert error.mean() < 3  # H.264 4:2:0; a sideways or mirrored frame gives > 40
    else:
        assert error.max() == 0  # PNG is lossless


def test_a_rotation_off_the_right_angles_is_refused_with_the_file_named(tmp_path, picture):
    clip = write_clip(tmp_path / "tilted.mp4", [picture] * 2, rotation=(45, False, False))
    with pytest.raises(InputError, match=r"tilted\.mp4: display matrix rotates by -?45\.0 degrees"):
        open_source(clip)  # found when opening: the first frame is decoded for its matrix


def test_frames_whose_side_data_pyav_cannot_list_fall_back_to_the_rotation(monkeypatch):
    """PyAV 18 raises ValueError listing side data newer than its enum (FFmpeg 8's EXIF)."""
    assert frame_orientation(av.VideoFrame(16, 8, "rgb24")) == Orientation()  # no side data

    def unlistable(frame):
        raise ValueError("31 is not a valid Type")

    monkeypatch.setattr(orientation_module, "SideDataContainer", unlistable)
    assert frame_orientation(SimpleNamespace(rotation=-90)) == Orientation(transpose=True, flip_cols=True)


def test_decoded_frames_are_freed_without_the_cycle_collector(tmp_path, picture):
    """Reading each frame's orientation must not tie the frame into a reference cycle: PyAV's
    cached ``frame.side_data`` did, and decoded pictures piled up until a collection (peak RSS
    grew with the clip's length)."""
    clip = write_clip(tmp_path / "turned.mp4", [picture] * 6, rotation=(90, False, False))
    gc.collect()
    gc.disable()
    try:
        with open_source(clip) as source:
            assert sum(1 for _ in source) == 6
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        frames = [o for o in gc.garbage if isinstance(o, av.VideoFrame)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert frames == []


# --- still images ---------------------------------------------------------------------------


def pillow_upright(path: Path) -> np.ndarray:
    image_module = pytest.importorskip("PIL.Image")
    ops = pytest.importorskip("PIL.ImageOps")
    with image_module.open(path) as image:
        return np.asarray(ops.exif_transpose(image).convert("RGB"))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(
    ("suffix", "byte_order"), [(".jpg", "<"), (".jpg", ">"), (".png", ">"), (".png", "<")]
)
def test_exif_orientation_is_applied_like_pillow(tmp_path, picture, orientation, suffix, byte_order):
    if suffix == ".jpg":
        data = jpeg_with_exif(encode_still(picture, "mjpeg", "yuvj444p"), exif_tiff(orientation, byte_order))
    else:
        data = png_with_exif(encode_still(picture, "png", "rgb24"), exif_tiff(orientation, byte_order))
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / f"f1{suffix}").write_bytes(data)
    (folder / f"f2{suffix}").write_bytes(data)
    with open_source(folder, fps=25) as source:
        frames = list(source)
        size = (source.width, source.height)
    expected = pillow_upright(folder / f"f1{suffix}")
    assert size == (expected.shape[1], expected.shape[0]) == ((48, 64) if orientation >= 5 else (64, 48))
    tolerance = 0 if suffix == ".png" else 3  # two JPEG decoders (libjpeg, FFmpeg) may differ by a level
    assert np.abs(frames[0].astype(int) - expected.astype(int)).max() <= tolerance
    assert np.array_equal(frames[0], frames[1])
    if orientation != 1:  # the oracle itself did turn it
        assert expected.shape != picture.shape or np.abs(expected.astype(int) - picture).max() > 100


def test_exif_written_by_pillow_is_honoured(tmp_path, picture):
    image_module = pytest.importorskip("PIL.Image")
    exif = image_module.Exif()
    exif[0x0112] = 6
    path = tmp_path / "shot.jpg"
    image_module.fromarray(picture).save(path, exif=exif.tobytes(), quality=95)
    with open_source(tmp_path, fps=25) as source:
        (frame,) = list(source)
    assert frame.shape == (64, 48, 3)
    assert np.abs(frame.astype(int) - np.rot90(picture, k=-1).astype(int)).mean() < 3


def test_exif_orientation_parser_reads_short_and_long_values_and_ignores_nonsense():
    assert exif_orientation(exif_tiff(6, "<")) == Orientation(transpose=True, flip_cols=True)
    assert exif_orientation(exif_tiff(8, ">", kind=4)) == Orientation(transpose=True, flip_rows=True)
    assert exif_orientation(b"Exif\0\0" + exif_tiff(3, ">")) == Orientation(flip_rows=True, flip_cols=True)
    for nonsense in (
        exif_tiff(0),
        exif_tiff(9),
        exif_tiff(6, kind=5),
        b"",
        b"II*\0\xff\xff\xff\xff",
        b"XX*\0",
    ):
        assert exif_orientation(nonsense) == Orientation()


def test_folder_sizes_are_compared_upright(tmp_path, picture):
    """A portrait shot stored landscape (orientation 6) beside one stored portrait: same size."""
    folder = tmp_path / "frames"
    folder.mkdir()
    portrait = np.ascontiguousarray(np.rot90(picture, k=-1))
    (folder / "a.png").write_bytes(png_with_exif(encode_still(picture, "png", "rgb24"), exif_tiff(6)))
    (folder / "b.png").write_bytes(encode_still(portrait, "png", "rgb24"))
    (folder / "c.png").write_bytes(encode_still(picture, "png", "rgb24"))  # landscape: refused
    frames: list[np.ndarray] = []
    with open_source(folder, fps=25) as source:
        assert (source.width, source.height) == (48, 64)
        with pytest.raises(
            InputError, match=r"c\.png: image is 64x48 but the first frame \(a\.png\) is 48x64"
        ):
            frames.extend(source)
    assert len(frames) == 2 and np.array_equal(frames[0], frames[1]) and np.array_equal(frames[0], portrait)
