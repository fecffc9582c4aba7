"""Raw 8-bit YUV and RGB frames as planes of bytes, and their conversion to and from RGB.

Pipes (YUV4MPEG2) and GStreamer hand frames over as planes in memory, not as a file FFmpeg
decodes. The conversion to and from RGB (``FrameConverter``) goes through the same FFmpeg calls as the
file path, so a clip interpolated through a pipe gets the very frames ``run`` gives the same
clip as a file (tested).

A ``PlaneLayout`` says how a pixel format lies in memory: which planes, each plane's rows and
bytes per row, the chroma planes rounded up for odd sides (as FFmpeg and GStreamer do). Rows
may be padded (``strides``): GStreamer pads rows to 4 bytes, PyAV to its own alignment, y4m not
at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np

from stmfnet_trt.core.errors import InputError

# FFmpeg pixel format -> (bytes per pixel of each plane, (horizontal, vertical) subsampling of
# each plane). NV12's second plane holds interleaved U and V: 2 bytes per (subsampled) pixel.
_FORMATS: dict[str, tuple[tuple[int, ...], tuple[tuple[int, int], ...]]] = {
    "gray": ((1,), ((1, 1),)),
    "yuv420p": ((1, 1, 1), ((1, 1), (2, 2), (2, 2))),
    "yuv422p": ((1, 1, 1), ((1, 1), (2, 1), (2, 1))),
    "yuv444p": ((1, 1, 1), ((1, 1), (1, 1), (1, 1))),
    "nv12": ((1, 2), ((1, 1), (2, 2))),
    "rgb24": ((3,), ((1, 1),)),
}
SUPPORTED_PIX_FMTS = tuple(_FORMATS)

# Matrix and range names as PyAV's reformatter takes them; chroma siting as FFmpeg names it.
MATRICES = {"bt601": "ITU601", "bt709": "ITU709"}
RANGES = {"limited": "MPEG", "full": "JPEG"}
SITINGS = ("center", "left", "topleft")


@dataclass(frozen=True)
class Colour:
    """How YUV values map to RGB: the matrix (bt601/bt709), the range (limited/full) and where
    4:2:0 chroma samples sit (center: JPEG, left: MPEG-2/H.264, topleft: PAL DV; None: FFmpeg's
    default)."""

    matrix: str = "bt601"
    range: str = "limited"
    siting: str | None = None

    def __post_init__(self) -> None:
        if self.matrix not in MATRICES or self.range not in RANGES or self.siting not in (None, *SITINGS):
            raise InputError(
                f"unknown colour {self.matrix}/{self.range}/{self.siting}: use {sorted(MATRICES)}, "
                f"{sorted(RANGES)}, {SITINGS}"
            )


@dataclass(frozen=True)
class PlaneLayout:
    """Planes of one ``pix_fmt`` frame of ``width`` x ``height``: (bytes per row, rows) each."""

    pix_fmt: str
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.pix_fmt not in _FORMATS:
            raise InputError(f"pixel format {self.pix_fmt} is not supported ({SUPPORTED_PIX_FMTS})")

    @property
    def planes(self) -> tuple[tuple[int, int], ...]:
        """(bytes per row, rows) of each plane, without row padding."""
        sizes, subsampling = _FORMATS[self.pix_fmt]
        return tuple(
            (-(-self.width // sx) * size, -(-self.height // sy))
            for size, (sx, sy) in zip(sizes, subsampling, strict=True)
        )

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame with tightly packed rows (a y4m frame's payload)."""
        return sum(row * rows for row, rows in self.planes)

    def split(self, data: bytes | memoryview) -> list[np.ndarray]:
        """Tightly packed frame bytes -> one (rows, bytes per row) uint8 view per plane."""
        arrays, offset = [], 0
        for row, rows in self.planes:
            arrays.append(np.frombuffer(data, np.uint8, row * rows, offset).reshape(rows, row))
            offset += row * rows
        return arrays

    def strided(
        self, data: bytes | memoryview, offsets: Sequence[int], strides: Sequence[int]
    ) -> list[np.ndarray]:
        """Frame bytes with planes at ``offsets`` and rows ``strides`` apart -> plane views
        (writable where ``data`` is)."""
        arrays = []
        for (row, rows), offset, stride in zip(self.planes, offsets, strides, strict=True):
            plane = np.frombuffer(data, np.uint8, stride * (rows - 1) + row, offset)
            arrays.append(np.lib.stride_tricks.as_strided(plane, (rows, row), (stride, 1)))
        return arrays


class FrameConverter:
    """Planes of one layout <-> uint8 (H, W, 3) RGB, converted by FFmpeg as the file path does.

    Reading: the planes go through FFmpeg's rawvideo decoder, tagged with the matrix, range and
    siting, and ``to_ndarray(format="rgb24")``: exactly what ``VideoSource`` does to a decoded
    frame (FFmpeg's swscale honours the siting, so a C420mpeg2 stream must say so to match).
    Writing: ``reformat`` to the layout with the matrix and range, as ``VideoSink`` does; PyAV
    cannot tag the siting of a frame it creates, so FFmpeg's default siting is used there.
    """

    def __init__(self, layout: PlaneLayout, colour: Colour) -> None:
        self.layout, self.colour = layout, colour
        self._decoder = None
        if layout.pix_fmt != "rgb24":
            decoder = av.CodecContext.create("rawvideo", "r")
            decoder.width, decoder.height, decoder.pix_fmt = layout.width, layout.height, layout.pix_fmt
            decoder.colorspace = av.video.reformatter.Colorspace[MATRICES[colour.matrix]]
            decoder.color_range = av.video.reformatter.ColorRange[RANGES[colour.range]]
            if colour.siting is not None:
                decoder.options = {"chroma_sample_location": colour.siting}
            self._decoder = decoder

    def to_rgb(self, planes: Sequence[np.ndarray]) -> np.ndarray:
        """Planes of one frame (any row strides) -> uint8 (H, W, 3) RGB."""
        packed = b"".join(np.ascontiguousarray(plane).tobytes() for plane in planes)
        if self._decoder is None:
            return np.frombuffer(packed, np.uint8).reshape(self.layout.height, self.layout.width, 3)
        (frame,) = self._decoder.decode(av.Packet(packed))
        return frame.to_ndarray(format="rgb24")

    def to_planes(self, rgb: np.ndarray) -> list[np.ndarray]:
        """uint8 (H, W, 3) RGB -> planes of the layout (views; rows may be strided)."""
        if self._decoder is None:
            return [rgb.reshape(self.layout.height, self.layout.width * 3)]
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format=self.layout.pix_fmt,
            dst_colorspace=MATRICES[self.colour.matrix],
            dst_color_range=RANGES[self.colour.range],
        )
        return [
            np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:rows, :row]
            for plane, (row, rows) in zip(frame.planes, self.layout.planes, strict=True)
        ]
