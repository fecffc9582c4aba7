"""Single still images (PNG, JPEG) to and from RGB arrays, through PyAV.

PyAV already decodes and encodes PNG and JPEG, so frame folders need no imaging library.

Pixel formats other than 8-bit RGB are converted explicitly, and always the same way:
grey is replicated into R = G = B, an alpha channel is dropped (not composited onto any
background: the colour values are kept as stored), 16-bit samples are reduced to 8 bits, and
palette images are expanded. ``has_alpha`` lets a caller warn that alpha was ignored.

``read_image`` reads the file's header first, by hand (a few hundred bytes; the pixel data is
never touched): the declared size is checked against ``MAX_FRAME_PIXELS`` before FFmpeg
allocates anything, and the EXIF orientation (JPEG APP1 ``Exif``, PNG ``eXIf`` chunk) is
applied to the decoded picture. FFmpeg 8 reads the orientation too, but PyAV 18 can show it
only as a rotation: the four mirrored orientations would come out wrong. A PNG is then decoded
from memory (read once) without its eXIf chunks, which FFmpeg 8 refuses when it cannot parse
them (``without_exif_chunks``).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.io.frame_source import check_frame_pixels
from stmfnet_trt.io.orientation import EXIF_ORIENTATIONS, Orientation

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
# Other still-image formats: a frame folder holding any is refused, not read past, since
# skipping them would drop frames from the sequence without a word (HEIC from phones, WebP
# from browsers, TIFF/DPX/EXR from editing suites).
OTHER_IMAGE_SUFFIXES = frozenset(
    {".heic", ".heif", ".avif", ".webp", ".jxl", ".tif", ".tiff", ".bmp", ".gif", ".tga", ".dpx", ".exr"}
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8"
EXIF_ORIENTATION_TAG = 0x0112
# Headers longer than this many JPEG segments or PNG chunks before the pixel data are not
# walked further: real files have a handful (EXIF, ICC profile pieces, XMP), and the bound
# keeps a forged file of millions of empty segments from costing minutes of Python.
MAX_HEADER_BLOCKS = 1000
# JPEG caps an APP1 segment at 64 KiB; an eXIf chunk claiming more is read no further.
MAX_EXIF_BYTES = 65535
# JPEG start-of-frame markers (SOF0..SOF15) hold the size; C4, C8 and CC are other segments.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, without a length: TEM and the restart markers.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


@dataclass(frozen=True)
class ImageHeader:
    """What an image file declares before its pixel data: stored size and orientation."""

    width: int
    height: int
    orientation: Orientation
    is_png: bool


@dataclass(frozen=True)
class Picture:
    """A decoded image, upright: ``rgb`` is ``HxWx3`` ``uint8``; ``had_alpha`` says whether
    an alpha channel was dropped to get there."""

    rgb: np.ndarray
    had_alpha: bool


def exif_orientation(tiff: bytes) -> Orientation:
    """The orientation tag of an EXIF block (a TIFF header and its first IFD).

    Anything missing, malformed or out of range gives the identity: an image whose EXIF
    cannot be read is shown as stored, as every viewer does.
    """
    if tiff.startswith(b"Exif\0"):  # some PNG writers keep JPEG's APP1 prefix in eXIf
        tiff = tiff[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8 or struct.unpack(order + "H", tiff[2:4])[0] != 42:
        return Orientation()
    ifd = struct.unpack(order + "I", tiff[4:8])[0]
    if ifd + 2 > len(tiff):
        return Orientation()
    entries = min(struct.unpack(order + "H", tiff[ifd : ifd + 2])[0], (len(tiff) - ifd - 2) // 12)
    for index in range(entries):
        entry = tiff[ifd + 2 + 12 * index : ifd + 14 + 12 * index]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag != EXIF_ORIENTATION_TAG:
            continue
        # SHORT as the standard says; LONG from a few writers. Either sits left-justified.
        value_format = {3: "H", 4: "I"}.get(kind)
        if value_format is None:
            return Orientation()
        value = struct.unpack(order + value_format, entry[8 : 8 + struct.calcsize(value_format)])[0]
        return EXIF_ORIENTATIONS.get(value, Orientation())
    return Orientation()


def unreadable(path: Path, reason: str) -> InputError:
    """The one error for an image file that cannot be used, whatever the cause."""
    return InputError(f"{path}: not a readable PNG or JPEG image ({reason})")


def _read_exactly(stream: BinaryIO, size: int, path: Path) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise unreadable(path, "header cut short")
    return data


def _png_header(stream: BinaryIO, path: Path) -> ImageHeader:
    """IHDR (always the first chunk) gives the size; an ``eXIf`` chunk before the image data
    gives the orientation (one after IDAT is ignored, as browsers do)."""
    length, kind = struct.unpack(">I4s", _read_exactly(stream, 8, path))
    if kind != b"IHDR" or length != 13:
        raise unreadable(path, "PNG without an IHDR header chunk")
    width, height = struct.unpack(">II", _read_exactly(stream, 8, path))
    check_frame_pixels(width, height, str(path))
    stream.seek(length - 8 + 4, 1)  # the rest of IHDR and its CRC
    orientation = Orientation()
    for _ in range(MAX_HEADER_BLOCKS):
        head = stream.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head)
        if kind == b"IDAT":
            break
        if kind == b"eXIf":
            orientation = exif_orientation(stream.read(min(length, MAX_EXIF_BYTES)))
            break
        stream.seek(length + 4, 1)
    return ImageHeader(width, height, orientation, is_png=True)


def _jpeg_header(stream: BinaryIO, path: Path) -> ImageHeader:
    """Walk the segments before the first start-of-frame, which holds the size; EXIF sits in
    an APP1 segment before it."""
    orientation = Orientation()
    for _ in range(MAX_HEADER_BLOCKS):
        if _read_exactly(stream, 1, path) != b"\xff":
            raise unreadable(path, "damaged JPEG segment structure")
        marker = 0xFF
        while marker == 0xFF:  # any number of 0xFF fill bytes may precede a marker
            marker = _read_exactly(stream, 1, path)[0]
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            break
        length = struct.unpack(">H", _read_exactly(stream, 2, path))[0]
        if length < 2:
            break
        if marker in _JPEG_SOF:
            _precision, height, width = struct.unpack(">BHH", _read_exactly(stream, 5, path))
            check_frame_pixels(width, height, str(path))
            return ImageHeader(width, height, orientation, is_png=False)
        if marker == 0xE1:
            payload = _read_exactly(stream, length - 2, path)
            if payload.startswith(b"Exif\0"):
                orientation = exif_orientation(payload[6:])
        else:
            stream.seek(length - 2, 1)
    raise unreadable(path, "JPEG without a frame header before its image data")


def read_image_header(path: Path) -> ImageHeader:
    """The size and orientation ``path`` declares, read without decoding any pixel.

    Raises:
        InputError: not a PNG or JPEG by its content, a damaged header, or a frame size above
            ``MAX_FRAME_PIXELS``.
    """
    try:
        with path.open("rb") as stream:
            signature = stream.read(8)
            if signature == PNG_SIGNATURE:
                return _png_header(stream, path)
            if signature.startswith(JPEG_SOI):
                stream.seek(2)
                return _jpeg_header(stream, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    raise unreadable(path, "its first bytes are neither a PNG nor a JPEG signature")


def decode_image(path: Path, data: bytes | None = None) -> av.VideoFrame:
    """Decode the one picture in an image file (or in ``data``, its bytes), as stored;
    InputError names the file if that fails. ``read_image`` adds the header checks and the
    orientation."""
    try:
        with av.open(str(path) if data is None else io.BytesIO(data)) as container:
            return next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as exc:
        reason = getattr(exc, "strerror", None) or "no picture in it"
        raise unreadable(path, reason) from exc


def without_exif_chunks(png: bytes) -> bytes:
    """The PNG with its ``eXIf`` chunks left out.

    FFmpeg 8's PNG decoder refuses a whole picture whose eXIf it cannot parse (measured: every
    one of 300 random EXIF blocks), where viewers show the picture; ``read_image`` has read the
    orientation already, so the decoder is given the picture without it. A damaged tail is
    kept for the decoder to judge.
    """
    kept = [png[:8]]
    position = 8
    while position + 12 <= len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        end = position + 12 + length
        if kind != b"eXIf":
            kept.append(png[position:end])
        position = end
    kept.append(png[position:])
    return b"".join(kept)


def read_image(path: Path) -> Picture:
    """Decode a PNG or JPEG file into an upright RGB picture (size checked before decoding).

    Raises:
        InputError: unreadable, not a PNG/JPEG, damaged, too large, or decoded to another
            size than its header declares.
    """
    header = read_image_header(path)
    data = None
    if header.is_png:  # decoded from memory, read once, with any eXIf chunk left out
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        if b"eXIf" in data:
            data = without_exif_chunks(data)
    frame = decode_image(path, data)
    if (frame.width, frame.height) != (header.width, header.height):
        raise InputError(
            f"{path}: decoded as {frame.width}x{frame.height} but its header declares "
            f"{header.width}x{header.height} (damaged image)"
        )
    return Picture(header.orientation.apply(to_rgb(frame)), has_alpha(frame))


def has_alpha(frame: av.VideoFrame) -> bool:
    """Whether the picture carries an alpha channel, which ``to_rgb`` drops."""
    return any(component.is_alpha for component in frame.format.components)


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """The picture as stored, as an ``HxWx3`` ``uint8`` RGB array (conversion rules: module
    docstring)."""
    return frame.to_ndarray(format="rgb24")


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode an ``HxWx3`` ``uint8`` RGB array as a PNG file's bytes (lossless)."""
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = frame.width, frame.height, "rgb24"
    return b"".join(bytes(packet) for packet in (*encoder.encode(frame), *encoder.encode(None)))
