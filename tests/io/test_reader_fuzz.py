"""Hostile input for the frame readers: whatever the bytes, names or file types, opening and
reading either yields valid frames (``uint8``, ``HxWx3``, the announced size) or raises a
one-line ``UserError``/``InputError``. Any other exception fails these tests.

Property-based with hypothesis, bounded for CI: ``STMFNET_FUZZ_EXAMPLES`` examples per test
(default 200, about 15 s for the file on 2 cores; set it to thousands for a campaign), no
deadline (the first decode of a process is slow), no example database written into the tree.
"""

from __future__ import annotations

import os
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_media import (
    encode_still,
    exif_tiff,
    jpeg_with_exif,
    pattern,
    png_header_only,
    png_palette,
    png_with_exif,
    remux,
    write_clip,
)

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.io import images, open_sink, open_source
from stmfnet_trt.io.frame_source import MAX_FRAME_PIXELS
from stmfnet_trt.io.images import exif_orientation, read_image_header
from stmfnet_trt.io.orientation import Orientation

FUZZ = settings(
    max_examples=int(os.environ.get("STMFNET_FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Starts of real files, so that random tails reach the demuxers and decoders, not just probing.
MAGIC = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe1",
    b"\x1aE\xdf\xa3",  # Matroska / WebM
    b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
    b"RIFF\x00\x10\x00\x00AVI LIST",
    b"G",  # MPEG-TS sync byte
]
VIDEO_SUFFIXES = [".mp4", ".mkv", ".avi", ".ts", ".mov", ".webm", ""]
IMAGE_SUFFIXES = [".png", ".jpg", ".jpeg", ".PNG"]


def read_or_refuse(path: Path, **options: object) -> int | str:
    """Open and read everything: the number of frames, or the refusal's message."""
    try:
        with open_source(path, **options) as source:
            count = 0
            for frame in source:
                assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
                assert frame.shape == (source.height, source.width, 3)
                count += 1
            return count
    except UserError as exc:  # InputError included
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        return message


# Positions are in millionths of the file's length. Integers, not floats: the test session
# flushes denormals (tests/conftest.py), which hypothesis's float strategies refuse to run under.
PARTS = 1_000_000


def damaged(data: bytes, flips: list[tuple[int, int]], keep: int | None) -> bytes:
    """``data`` with bytes overwritten at relative offsets, then cut to a part of it."""
    buffer = bytearray(data)
    for where, value in flips:
        buffer[where * (len(buffer) - 1) // PARTS] = value
    return bytes(buffer if keep is None else buffer[: keep * len(buffer) // PARTS])


CLIP_NAMES = (
    "carphone_12.mp4",
    "demo.mp4",
    "carphone.mkv",
    "carphone.ts",
    "turned.mp4",
    "vfr.mkv",
    "long.mkv",
)
MS = Fraction(1, 1000)
flips_strategy = st.lists(st.tuples(st.integers(0, PARTS), st.integers(0, 255)), min_size=1, max_size=12)
keep_strategy = st.none() | st.integers(0, PARTS)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, assets_dir: Path) -> dict[str, Path]:
    """Real clips in every layout the readers meet, to damage (paths: a failing example then
    prints short)."""
    folder = tmp_path_factory.mktemp("clips")
    carphone = assets_dir / "carphone_12.mp4"
    frames = [np.roll(pattern(32, 48), 3 * index, axis=1) for index in range(8)]
    made = [
        carphone,
        assets_dir / "demo.mp4",  # with AAC audio
        remux(carphone, folder / "carphone.mkv"),
        remux(carphone, folder / "carphone.ts"),
        write_clip(folder / "turned.mp4", frames, rotation=(90, True, False)),
        write_clip(folder / "vfr.mkv", frames, pts=[0, 33, 67, 100, 150, 180, 233, 250], time_base=MS),
        # longer than the packets checked when opening: damage reaches the check while decoding
        write_clip(folder / "long.mkv", [pattern(16, 16)] * 320, pts=list(range(0, 12800, 40)), time_base=MS),
    ]
    assert tuple(path.name for path in made) == CLIP_NAMES
    return {path.name: path for path in made}


@FUZZ
@given(magic=st.sampled_from(MAGIC), body=st.binary(max_size=3000), suffix=st.sampled_from(VIDEO_SUFFIXES))
def test_random_bytes_as_a_video(tmp_path, magic, body, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(magic + body)
    read_or_refuse(path)


@FUZZ
@given(magic=st.sampled_from(MAGIC), body=st.binary(max_size=3000), suffix=st.sampled_from(IMAGE_SUFFIXES))
def test_random_bytes_as_a_frame(tmp_path, magic, body, suffix):
    folder = tmp_path / "frames"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / f"f1{suffix}").write_bytes(magic + body)
    assert isinstance(read_or_refuse(folder, fps=25), str)  # nothing random is a picture


@FUZZ
@given(
    name=st.sampled_from(CLIP_NAMES),
    flips=flips_strategy,
    keep=keep_strategy,
)
def test_damaged_real_clips(tmp_path, clips, name, flips, keep):
    path = tmp_path / name
    path.write_bytes(damaged(clips[name].read_bytes(), flips, keep))
    for assume in (False, True):
        read_or_refuse(path, assume_constant_rate=assume)


@pytest.fixture(scope="module")
def stills() -> dict[str, bytes]:
    picture = pattern(24, 40)
    return {
        "plain.png": encode_still(picture, "png", "rgb24"),
        "exif.png": png_with_exif(encode_still(picture, "png", "rgb24"), exif_tiff(6, ">")),
        "deep.png": encode_still(picture.astype(np.uint16) * 257, "png", "rgb48be"),
        "exif.jpg": jpeg_with_exif(encode_still(picture, "mjpeg", "yuvj444p"), exif_tiff(8)),
        "plain.jpg": encode_still(picture, "mjpeg", "yuvj420p"),
    }


@FUZZ
@given(
    name=st.sampled_from(["plain.png", "exif.png", "deep.png", "exif.jpg", "plain.jpg"]),
    flips=flips_strategy,
    keep=keep_strategy,
    first=st.booleans(),
)
def test_damaged_real_images(tmp_path, stills, name, flips, keep, first):
    """A damaged frame, first (read when opening) or second (read while iterating)."""
    folder = tmp_path / "frames"
    folder.mkdir(exist_ok=True)
    suffix = Path(name).suffix
    (folder / f"a{suffix}").write_bytes(damaged(stills[name], flips, keep) if first else stills[name])
    (folder / f"b{suffix}").write_bytes(stills[name] if first else damaged(stills[name], flips, keep))
    read_or_refuse(folder, fps=25)


@FUZZ
@given(
    width=st.integers(0, 2**32 - 1) | st.integers(0, 9000),
    height=st.integers(0, 2**32 - 1) | st.integers(0, 9000),
    depth=st.integers(0, 255),
    colour=st.integers(0, 255),
)
def test_forged_png_headers(tmp_path, width, height, depth, colour):
    """Any IHDR: refused by name (or, tiny enough for the 16 zero bytes of image data to fill,
    read), and never decoded when it claims more than the cap."""
    data = bytearray(png_header_only(1, 1))
    data[16:26] = struct.pack(">IIBB", width, height, depth, colour)
    folder = tmp_path / "frames"
    folder.mkdir(exist_ok=True)
    (folder / "1.png").write_bytes(bytes(data))
    too_big = width * height > MAX_FRAME_PIXELS
    with pytest.MonkeyPatch.context() as patch:
        if too_big:
            patch.setattr(images, "decode_image", forbidden_decode)
        outcome = read_or_refuse(folder, fps=25)
    if too_big:
        assert isinstance(outcome, str) and "larger than the 67 megapixels" in outcome


def forbidden_decode(path: Path, data: bytes | None = None) -> None:
    raise AssertionError(f"{path} was handed to the decoder")


@FUZZ
@given(
    head=st.sampled_from([b"", b"II*\x00\x08\x00\x00\x00", b"MM\x00*\x00\x00\x00\x08", b"Exif\0\0MM\x00*"]),
    body=st.binary(max_size=200),
)
def test_random_exif_blocks(tmp_path, stills, head, body):
    """The same EXIF block in a JPEG and a PNG: both read, turned the same way."""
    assert isinstance(exif_orientation(head + body), Orientation)
    folder = tmp_path / "frames"
    folder.mkdir(exist_ok=True)
    (folder / "1.jpg").write_bytes(jpeg_with_exif(stills["plain.jpg"], head + body))
    (folder / "2.png").write_bytes(png_with_exif(stills["plain.png"], head + body))
    assert read_or_refuse(folder, fps=25) == 2  # unreadable EXIF means "as stored", never a refusal


# --- hostile cases, one by one -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height"), [(100_000, 100_000), (16_000, 16_000), (8193, 8192), (65_535, 1100)]
)
def test_huge_declared_sizes_are_refused_before_decoding(tmp_path, monkeypatch, width, height):
    monkeypatch.setattr(images, "decode_image", forbidden_decode)
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "1.png").write_bytes(png_header_only(width, height))
    jpeg = bytearray(encode_still(pattern(16, 16), "mjpeg", "yuvj444p"))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", min(height, 65535), min(width, 65535))
    (tmp_path / "jpeg").mkdir()
    (tmp_path / "jpeg" / "1.jpg").write_bytes(bytes(jpeg))
    for source in (folder, tmp_path / "jpeg"):
        message = read_or_refuse(source, fps=25)
        assert isinstance(message, str) and "larger than the 67 megapixels (8192x8192)" in message


def test_the_size_cap_is_exactly_8192_squared(tmp_path):
    (tmp_path / "cap.png").write_bytes(png_header_only(8192, 8192))
    assert read_image_header(tmp_path / "cap.png").width == 8192


@pytest.mark.parametrize(
    ("pixels", "pix_fmt", "expected", "alpha"),
    [
        (np.full((5, 7, 3), (0x1234, 0xFFFF, 0x80FF), np.uint16), "rgb48be", (0x12, 0xFF, 0x81), False),
        (np.full((5, 7, 1), 0xABCD, np.uint16), "gray16be", (0xAB,) * 3, False),
        (np.full((5, 7, 4), (0x1234, 0, 0xFFFF, 0x10), np.uint16), "rgba64be", (0x12, 0, 0xFF), True),
        (np.full((5, 7, 4), (90, 90, 90, 3), np.uint8), "ya8", (90, 90, 90), True),
        (np.full((5, 7, 4), (0x7F80,) * 3 + (9,), np.uint16), "ya16be", (0x7F,) * 3, True),
        (np.full((3, 9, 1), 255, np.uint8), "monob", (255, 255, 255), False),
        (np.full((1, 1, 3), (9, 8, 7), np.uint8), "rgb24", (9, 8, 7), False),
        (np.full((7, 1, 1), 77, np.uint8), "gray", (77, 77, 77), False),
    ],
    ids=["rgb48", "gray16", "rgba64", "grey+alpha", "grey+alpha16", "1-bit", "1x1", "1-wide"],
)
def test_deep_grey_alpha_and_tiny_pngs_become_8_bit_rgb(tmp_path, pixels, pix_fmt, expected, alpha, caplog):
    (tmp_path / "1.png").write_bytes(encode_still(pixels, "png", pix_fmt))
    with open_source(tmp_path, fps=25) as source:
        (frame,) = list(source)
    assert frame.shape == (*pixels.shape[:2], 3) and frame.dtype == np.uint8
    assert np.abs(frame.astype(int) - expected).max() <= 1  # 16 -> 8 bits rounds or truncates
    assert ("alpha channel ignored" in caplog.text) is alpha


def test_palette_png_and_odd_sized_jpeg(tmp_path):
    palette = np.array([[10, 20, 30], [200, 100, 50], [0, 255, 0]])
    indexes = np.array([[0, 1, 2], [2, 1, 0]])
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "1.png").write_bytes(png_palette(indexes, palette))
    with open_source(tmp_path / "p", fps=25) as source:
        (frame,) = list(source)
    assert np.array_equal(frame, palette[indexes])
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "1.jpg").write_bytes(
        encode_still(np.full((5, 7, 3), (200, 10, 10), np.uint8), "mjpeg", "yuvj420p")
    )
    with open_source(tmp_path / "j", fps=25) as source:
        (frame,) = list(source)
    assert frame.shape == (5, 7, 3) and np.abs(frame.astype(int) - (200, 10, 10)).max() <= 6


def hostile_layouts(root: Path, carphone: Path) -> dict[str, tuple[Path, str]]:
    """Paths a careless or hostile user hands over, each with the refusal it must get."""
    png = encode_still(pattern(8, 12), "png", "rgb24")

    def frames_with(name: str, make: object) -> Path:
        folder = root / name
        folder.mkdir()
        (folder / "1.png").write_bytes(png)
        make(folder)  # type: ignore[operator]
        return folder

    (root / "empty.mp4").touch()
    os.symlink("loop.mp4", root / "loop.mp4")
    os.mkfifo(root / "pipe.mp4")
    (root / "clip.mp4").mkdir()  # a folder named like a video
    (root / "notes.mp4").write_text("just text\n")
    (root / "unknown_codec.mp4").write_bytes(carphone.read_bytes().replace(b"avc1", b"zzz1"))
    return {
        "empty file": (root / "empty.mp4", "empty.mp4: file is empty"),
        "symlink loop": (root / "loop.mp4", "loop.mp4: cannot open (Too many levels of symbolic links)"),
        "fifo": (root / "pipe.mp4", "pipe.mp4: not a regular file"),
        "device": (Path("/dev/zero"), "/dev/zero: not a regular file"),
        "path through a file": (carphone / "x.mp4", "carphone_12.mp4/x.mp4: cannot open (Not a directory)"),
        "folder named like a video": (root / "clip.mp4", "clip.mp4: folder has no PNG or JPEG images"),
        "text named like a video": (root / "notes.mp4", "notes.mp4: not a video FFmpeg can read"),
        "codec without a decoder": (  # found by fuzzing: PyAV gives such a stream no codec context
            root / "unknown_codec.mp4",
            "unknown_codec.mp4: FFmpeg has no decoder for its video stream's codec",
        ),
        "frame symlink loop": (
            frames_with(
                "looped", lambda f: (os.symlink("3.png", f / "2.png"), os.symlink("2.png", f / "3.png"))
            ),
            "2.png: named like a frame but not a regular file",
        ),
        "dangling frame link": (
            frames_with("dangling", lambda f: os.symlink("gone.png", f / "2.png")),
            "2.png: named like a frame but not a regular file",
        ),
        "folder named like a frame": (
            frames_with("nested", lambda f: (f / "2.png").mkdir()),
            "2.png: named like a frame but not a regular file",
        ),
        "fifo named like a frame": (
            frames_with("piped", lambda f: os.mkfifo(f / "2.png")),
            "2.png: named like a frame but not a regular file",
        ),
        "empty frame": (
            frames_with("zero", lambda f: (f / "2.png").touch()),
            "2.png: not a readable PNG or JPEG image (its first bytes are neither",
        ),
        "text named like a frame": (
            frames_with("text", lambda f: (f / "2.jpg").write_text("hello")),
            "2.jpg: not a readable PNG or JPEG image",
        ),
        "frames in another format among them": (
            frames_with(
                "mixed_formats", lambda f: ((f / "2.webp").write_bytes(b"RIFF"), (f / "3.HEIC").touch())
            ),
            "mixed_formats: holds 2 image(s) in a format frame folders do not read, such as 2.webp",
        ),
    }


def test_hostile_paths_are_refused_by_name_in_one_line(tmp_path, assets_dir):
    for case, (path, expected) in hostile_layouts(tmp_path, assets_dir / "carphone_12.mp4").items():
        outcome = read_or_refuse(path, fps=25)
        assert isinstance(outcome, str) and expected in outcome, (case, outcome)


def test_misnamed_but_valid_images_and_unicode_names_are_read(tmp_path):
    png = encode_still(pattern(8, 12), "png", "rgb24")
    (tmp_path / "1\u00b22.jpg").write_bytes(png)  # a PNG named .jpg; superscript two in the name
    (tmp_path / os.fsdecode(b"\xff\xfe3.png")).write_bytes(png)  # not UTF-8 at all
    assert read_or_refuse(tmp_path, fps=25) == 2


def test_tags_that_are_not_utf8_neither_stop_reading_nor_audio_copying(tmp_path, assets_dir):
    """PyAV decodes tags strictly by default: invalid UTF-8 raised UnicodeDecodeError, in the
    sink too when it opened the input for its audio."""
    tagged = tmp_path / "tagged.mkv"
    with av.open(str(assets_dir / "demo.mp4")) as src, av.open(str(tagged), "w") as dst:
        dst.metadata["title"] = "caf\u00e9\u00e9"
        streams = {stream.index: dst.add_stream_from_template(stream) for stream in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    data = tagged.read_bytes()
    assert data.count("caf\u00e9\u00e9".encode()) == 1
    tagged.write_bytes(data.replace("caf\u00e9\u00e9".encode(), b"caf\xff\xfe\xff\xfe"))
    with pytest.raises(UnicodeDecodeError), av.open(str(tagged)) as strict:
        dict(strict.metadata)
    with open_source(tagged) as source:
        frames = list(source)
        output = tmp_path / "out.mp4"
        with open_sink(output, source.width, source.height, source.fps, audio_from=tagged) as sink:
            for frame in frames:
                sink.write(frame)
    assert len(frames) == 18
    with open_source(output) as back:
        assert back.has_audio and back.frame_count == 18
