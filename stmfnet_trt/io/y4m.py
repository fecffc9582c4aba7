"""YUV4MPEG2 (y4m): the uncompressed stream format ffmpeg and GStreamer pipe between programs.

A stream is one text header line, ``YUV4MPEG2 W176 H144 F30000:1001 Ip A1:1 C420jpeg
XCOLORRANGE=LIMITED``, then per frame a ``FRAME`` line and the planes, tightly packed. Time is
implicit: frame ``i`` is at ``i / F``. Read here, and refused with one clear line each:

- ``C420jpeg``/``C420paldv``/``C420mpeg2``/``C420`` (4:2:0, chroma siting variants), ``C422``,
  ``C444``, ``Cmono``, 8 bits per sample. The siting is honoured when converting to RGB (as
  FFmpeg does when ``run`` reads the same file) and echoed on output.
- Refused: more than 8 bits (``C420p10``, ``C444p12``, ``Cmono16``...), alpha (``C444alpha``),
  other subsamplings (``C411``), and interlaced streams (``It``, ``Ib``, ``Im``): the model
  interpolates whole frames, and two fields woven into one picture would be interpolated as
  combing. Deinterlace upstream (``ffmpeg -vf bwdif``); ``I?`` (unknown) is taken as progressive,
  as ffmpeg does.
- The colour matrix is not in the header. ``matrix_for_size`` picks the convention players use:
  BT.709 for HD (width >= 1280 or height > 576), else BT.601; a caller may override it. The range
  comes from ``XCOLORRANGE=FULL|LIMITED`` (limited when absent).

A stream cut inside a frame, or with garbage where a ``FRAME`` line belongs, ends the frames
there; ``Y4MReader.check_complete`` then raises, so a pipeline can first finish the frames it
had and still fail loudly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import BinaryIO

import numpy as np

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.io.yuv import Colour, PlaneLayout

MAGIC = b"YUV4MPEG2"
FRAME_MARKER = b"FRAME"
# Longer than any real header (a few dozen bytes plus X tags); stops a binary stream without a
# newline from being read whole into memory in search of one.
MAX_LINE = 4096
# 16K, twice 8K UHD: a frame is read whole, so a damaged header must not ask for gigabytes.
MAX_SIDE = 16384

_PIX_FMTS = {
    "420jpeg": "yuv420p",
    "420paldv": "yuv420p",
    "420mpeg2": "yuv420p",
    "420": "yuv420p",
    "422": "yuv422p",
    "444": "yuv444p",
    "mono": "gray",
}
# Where the 4:2:0 chroma samples sit, as FFmpeg's y4m demuxer tags it (other layouts: no tag).
_SITINGS = {"420jpeg": "center", "420": "center", "420mpeg2": "left", "420paldv": "topleft"}
DEFAULT_CHROMA = "420jpeg"  # what the y4m spec assumes when a header has no C tag
_HIGH_DEPTH = re.compile(r"^(?:\d+p(\d+)|mono(\d+))$")
HD_WIDTH, SD_MAX_HEIGHT = 1280, 576


def matrix_for_size(width: int, height: int) -> str:
    """The matrix a y4m stream of this size most likely uses: BT.709 for HD, else BT.601."""
    return "bt709" if width >= HD_WIDTH or height > SD_MAX_HEIGHT else "bt601"


@dataclass(frozen=True)
class Y4MHeader:
    """The stream parameters; ``aspect`` and ``extensions`` are carried to the output as read."""

    width: int
    height: int
    rate: Fraction | None  # None: the stream states none (F0:0 or no F tag)
    chroma: str = DEFAULT_CHROMA
    aspect: str = "0:0"
    extensions: tuple[str, ...] = ()

    @property
    def layout(self) -> PlaneLayout:
        return PlaneLayout(_PIX_FMTS[self.chroma], self.width, self.height)

    @property
    def full_range(self) -> bool:
        return "XCOLORRANGE=FULL" in self.extensions

    def colour(self, matrix: str | None = None) -> Colour:
        """The YUV<->RGB mapping: ``matrix`` (bt601/bt709), else by frame size; range from the X
        tag; siting from the C tag."""
        return Colour(
            matrix or matrix_for_size(self.width, self.height),
            "full" if self.full_range else "limited",
            _SITINGS.get(self.chroma),
        )

    def with_rate(self, rate: Fraction) -> Y4MHeader:
        return replace(self, rate=rate)

    def encode(self) -> bytes:
        if self.rate is None:
            raise ValueError("a y4m header needs a frame rate")
        fields = [
            f"W{self.width}",
            f"H{self.height}",
            f"F{self.rate.numerator}:{self.rate.denominator}",
            "Ip",
            f"A{self.aspect}",
            f"C{self.chroma}",
            *self.extensions,
        ]
        return MAGIC + b" " + " ".join(fields).encode("ascii") + b"\n"


def _line(stream: BinaryIO) -> bytes:
    return stream.readline(MAX_LINE)


def _side(value: str, what: str) -> int:
    if not value.isdigit() or int(value) <= 0:
        raise InputError(f"y4m header: {what} {value!r} is not a positive integer")
    if int(value) > MAX_SIDE:
        raise InputError(f"y4m header: {what} {value} is beyond {MAX_SIDE} px (damaged header?)")
    return int(value)


def _rate(value: str) -> Fraction | None:
    numerator, _, denominator = value.partition(":")
    if not (numerator.isdigit() and denominator.isdigit()):
        raise InputError(f"y4m header: frame rate F{value} is not N:D")
    if int(numerator) == 0 or int(denominator) == 0:
        return None  # "unknown", allowed by the format
    return Fraction(int(numerator), int(denominator))


def _chroma(value: str) -> str:
    if value in _PIX_FMTS:
        return value
    deep = _HIGH_DEPTH.match(value)
    if deep and int(deep.group(1) or deep.group(2)) > 8:
        raise InputError(
            f"y4m stream is C{value}: more than 8 bits per sample is not supported; "
            "convert upstream (ffmpeg ... -pix_fmt yuv420p -f yuv4mpegpipe -)"
        )
    raise InputError(
        f"y4m colour space C{value} is not supported (supported: "
        f"{', '.join('C' + name for name in _PIX_FMTS)}); convert upstream with -pix_fmt yuv420p"
    )


def parse_header(line: bytes) -> Y4MHeader:
    """The header of a stream from its first line (refusing what cannot be read, see above)."""
    if not line.startswith(MAGIC + b" ") or not line.endswith(b"\n"):
        shown = line[:24]
        raise InputError(
            f"input is not a YUV4MPEG2 stream (it starts with {shown!r}); pipe y4m in, e.g. "
            "ffmpeg -i IN -f yuv4mpegpipe - | stmfnet-trt run - -o -"
        )
    try:
        tokens = line[len(MAGIC) + 1 : -1].decode("ascii").split()
    except UnicodeDecodeError as exc:
        raise InputError("y4m header is not ASCII text: not a YUV4MPEG2 stream") from exc
    width = height = None
    rate, chroma, aspect, extensions = None, DEFAULT_CHROMA, "0:0", []
    for token in tokens:
        tag, value = token[0], token[1:]
        if tag == "W":
            width = _side(value, "width")
        elif tag == "H":
            height = _side(value, "height")
        elif tag == "F":
            rate = _rate(value)
        elif tag == "I" and value not in ("p", "?"):
            raise InputError(
                f"y4m stream is interlaced (I{value}): deinterlace upstream, e.g. ffmpeg -vf bwdif "
                "(the model interpolates whole frames, not fields)"
            )
        elif tag == "A":
            aspect = value
        elif tag == "C":
            chroma = _chroma(value)
        elif tag == "X":
            extensions.append(token)
    if width is None or height is None:
        raise InputError("y4m header has no frame size (W and H)")
    return Y4MHeader(width, height, rate, chroma, aspect, tuple(extensions))


class Y4MReader:
    """Frames of a y4m stream as planes, read one at a time (memory: one frame)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        first = _line(stream)
        if not first:
            raise InputError("no input: the y4m stream is empty (0 bytes)")
        self.header = parse_header(first)
        self.layout = self.header.layout
        self.frames_read = 0
        self._problem: InputError | None = None

    def __iter__(self) -> Iterator[list[np.ndarray]]:
        size = self.layout.frame_bytes
        while True:
            marker = _line(self._stream)
            if not marker:
                return
            if not (marker.startswith(FRAME_MARKER) and marker.endswith(b"\n")):
                self._problem = InputError(
                    f"y4m stream damaged after {self.frames_read} frames: expected a FRAME line, "
                    f"got {marker[:16]!r}"
                )
                return
            data = self._stream.read(size)
            if len(data) < size:
                self._problem = InputError(
                    f"y4m stream truncated: frame {self.frames_read} has {len(data)} of {size} bytes "
                    f"(the {self.frames_read} complete frames before it were used)"
                )
                return
            self.frames_read += 1
            yield self.layout.split(data)

    def check_complete(self) -> None:
        """Raise the damage that ended the frames early, if any."""
        if self._problem is not None:
            raise self._problem


class Y4MWriter:
    """Writes a y4m stream, the header before the first frame, flushing after every frame."""

    def __init__(self, stream: BinaryIO, header: Y4MHeader) -> None:
        self._stream = stream
        self._header = header
        self.frames_written = 0

    def write(self, planes: list[np.ndarray]) -> None:
        if self.frames_written == 0:
            self._stream.write(self._header.encode())
        self._stream.write(FRAME_MARKER + b"\n")
        for plane in planes:
            self._stream.write(np.ascontiguousarray(plane).data)
        self._stream.flush()
        self.frames_written += 1
