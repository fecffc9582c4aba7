"""Media made at test time for the reader tests: clips with chosen timestamps and display
matrices, still images with an EXIF orientation. Written with PyAV and by hand (EXIF, PNG
chunks), never with the code under test."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def pattern(height: int = 48, width: int = 64) -> np.ndarray:
    """An RGB picture no rotation or mirror maps onto itself: three coloured corners, a bar
    off the centre and a gradient, in blocks big enough to survive lossy coding."""
    picture = np.zeros((height, width, 3), np.uint8)
    picture[..., 2] = np.linspace(0, 120, width, dtype=np.uint8)[None, :]
    picture[:16, :16] = (250, 20, 20)
    picture[:16, -16:] = (20, 250, 20)
    picture[-16:, :16] = (20, 20, 250)
    picture[height // 2 - 4 : height // 2 + 4, 20 : width - 8] = (230, 230, 230)
    return picture


def write_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    pts: Sequence[int] | None = None,
    time_base: Fraction = Fraction(1, 25),
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    rotation: tuple[float, bool, bool] | None = None,
) -> Path:
    """Encode ``frames`` with the given presentation timestamps (``time_base`` units, one per
    frame by default) and, if ``rotation`` = (degrees, hflip, vflip), a display matrix."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=round(1 / time_base) if pts is None else None)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv444p" if codec == "libx264" else "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.options = {"qp": "0"} if options is None and codec == "libx264" else (options or {})
        if rotation is not None:
            degrees, hflip, vflip = rotation
            stream.set_display_rotation(degrees, hflip=hflip, vflip=vflip)
        for index, picture in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index if pts is None else pts[index]
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def remux(source: Path, target: Path) -> Path:
    """Copy every stream of ``source`` into ``target``'s container, packets unchanged."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        streams = {stream.index: dst.add_stream_from_template(stream) for stream in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    return target


def encode_still(picture: np.ndarray, codec: str, pix_fmt: str) -> bytes:
    """One picture as a PNG or JPEG file's bytes (``codec`` png or mjpeg), in ``pix_fmt``
    (converted by swscale from the array's grey/RGB/RGBA, 8 or 16 bits)."""
    channels = picture.shape[2] if picture.ndim == 3 else 1
    source_format = {1: "gray", 3: "rgb24", 4: "rgba"}[channels]
    if picture.dtype == np.uint16:
        source_format = {1: "gray16le", 3: "rgb48le", 4: "rgba64le"}[channels]
        picture = picture.astype("<u2")
    frame = av.VideoFrame.from_ndarray(picture, format=source_format)
    if frame.format.name != pix_fmt:
        frame = frame.reformat(format=pix_fmt)
    encoder = av.CodecContext.create(codec, "w")
    encoder.width, encoder.height, encoder.pix_fmt = frame.width, frame.height, pix_fmt
    encoder.time_base = Fraction(1, 25)
    return b"".join(bytes(packet) for packet in (*encoder.encode(frame), *encoder.encode(None)))


def exif_tiff(orientation: int, byte_order: str = "<", kind: int = 3) -> bytes:
    """A TIFF header and IFD0 holding a second tag and the orientation (SHORT, kind 3)."""
    order = {"<": b"II", ">": b"MM"}[byte_order]
    make = struct.pack(byte_order + "HHI4s", 0x010F, 2, 4, b"cam\0")  # Make = "cam", inline
    value = struct.pack(byte_order + ("H2x" if kind == 3 else "I"), orientation)
    rotation_entry = struct.pack(byte_order + "HHI", 0x0112, kind, 1) + value
    return (
        order
        + struct.pack(byte_order + "HI", 42, 8)
        + struct.pack(byte_order + "H", 2)
        + make
        + rotation_entry
        + struct.pack(byte_order + "I", 0)
    )


def jpeg_with_exif(jpeg: bytes, tiff: bytes) -> bytes:
    """Insert an APP1 ``Exif`` segment right after the start-of-image marker."""
    payload = b"Exif\0\0" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_exif(png: bytes, tiff: bytes) -> bytes:
    """Insert an ``eXIf`` chunk right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    return png[:33] + png_chunk(b"eXIf", tiff) + png[33:]


def png_palette(indexes: np.ndarray, palette: np.ndarray) -> bytes:
    """An 8-bit palette PNG (colour type 3), written by hand: FFmpeg cannot encode one."""
    height, width = indexes.shape
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    rows = b"".join(b"\0" + row.astype(np.uint8).tobytes() for row in indexes)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"PLTE", palette.astype(np.uint8).tobytes())
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB and holds one tiny IDAT: a forged file."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + png_chunk(b"IEND", b"")
    )
