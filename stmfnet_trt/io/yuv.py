"""Raw 8-bit YUV and RGB frames as planes of bytes, and their conversion to and from RGB.

Pipes (YUV4MPEG2) and GStreamer hand frames over as planes in memory, not as a file FFmpeg
decodes. The conversion to and from RGB goes through the same swscale calls as the file path
(``VideoSource`` reads with ``to_ndarray(format="rgb24")``, ``VideoSink`` writes with
``reformat(dst_colorspace=..., dst_color_range=...)``), so a clip interpolated through a pipe
gets the very frames ``run`` gives the same clip as a file (tested).

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

from stmfnet_trt.errors import InputError

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

# Matrix and range names as PyAV's reformatter takes them.
MATRICES = {"bt601": "ITU601", "bt709": "ITU709"}
RANGES = {"limited": "MPEG", "full": "JPEG"}


@dataclass(frozen=True)
class Colour:
    """How YUV values map to RGB: the matrix (bt601/bt709) and the range (limited/full)."""

    matrix: str = "bt601"
    range: str = "limited"

    def __post_init__(self) -> None:
        if self.matrix not in MATRICES or self.range not in RANGES:
            raise InputError(
                f"unknown colour {self.matrix}/{self.range}: use {sorted(MATRICES)} / {sorted(RANGES)}"
            )


@dataclass(frozen=True)
class PlaneLayout:
    """Planes of one ``pix_fmt`` frame of ``width`` x ``height``: (bytes per row, rows) each."""

    pix_fmt: str
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.pix_fmt not in _FORMATS:
            raise InputError(
                f"pixel format {self.pix_fmt} is not supported (use one of {SUPPORTED_PIX_FMTS})"
            )

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
        """Frame bytes with planes at ``offsets`` and rows ``strides`` apart -> plane views."""
        arrays = []
        for (row, rows), offset, stride in zip(self.planes, offsets, strides, strict=True):
            plane = np.frombuffer(data, np.uint8, stride * (rows - 1) + row, offset)
            arrays.append(np.lib.stride_tricks.as_strided(plane, (rows, row), (stride, 1)))
        return arrays


def _frame_from_planes(layout: PlaneLayout, planes: Sequence[np.ndarray]) -> av.VideoFrame:
    frame = av.VideoFrame(layout.width, layout.height, layout.pix_fmt)
    for target, source, (row, rows) in zip(frame.planes, planes, layout.planes, strict=True):
        np.frombuffer(target, np.uint8).reshape(-1, target.line_size)[:rows, :row] = source
    return frame


def _planes_of_frame(layout: PlaneLayout, frame: av.VideoFrame) -> list[np.ndarray]:
    return [
        np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:rows, :row]
        for plane, (row, rows) in zip(frame.planes, layout.planes, strict=True)
    ]


def planes_to_rgb(layout: PlaneLayout, planes: Sequence[np.ndarray], colour: Colour) -> np.ndarray:
    """Planes of one frame -> uint8 (H, W, 3) RGB, by swscale as the file path decodes."""
    if layout.pix_fmt == "rgb24":
        return np.ascontiguousarray(planes[0]).reshape(layout.height, layout.width, 3)
    frame = _frame_from_planes(layout, planes)
    frame.colorspace = av.video.reformatter.Colorspace[MATRICES[colour.matrix]]
    frame.color_range = av.video.reformatter.ColorRange[RANGES[colour.range]]
    return frame.to_ndarray(format="rgb24")


def rgb_to_planes(layout: PlaneLayout, rgb: np.ndarray, colour: Colour) -> list[np.ndarray]:
    """uint8 (H, W, 3) RGB -> planes of ``layout``, by swscale as the file path encodes."""
    if layout.pix_fmt == "rgb24":
        return [rgb.reshape(layout.height, layout.width * 3)]
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format=layout.pix_fmt, dst_colorspace=MATRICES[colour.matrix], dst_color_range=RANGES[colour.range]
    )
    return _planes_of_frame(layout, frame)
