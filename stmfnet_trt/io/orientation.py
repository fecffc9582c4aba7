"""Display orientation: turning stored pixels the way a player shows them.

Phones store video as the sensor saw it and add a display matrix (MP4 ``tkhd``, ``rotate=90``
in older tools); cameras store JPEG/PNG pixels unrotated and add an EXIF orientation tag.
Ignoring either puts the output on its side, so every frame source hands out frames already
upright. Only the eight axis-aligned orientations exist in practice (rotations by multiples of
90 degrees, each optionally mirrored); each is one transpose-or-not plus two flips, which
NumPy does on views at the cost of one copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import av
import numpy as np
from av.sidedata.sidedata import SideDataContainer
from av.sidedata.sidedata import Type as SideDataType

from stmfnet_trt.core.errors import InputError

# A display matrix entry counts as zero when it is below this fraction of the largest one:
# matrices written through 16.16 fixed point carry rounding noise, never a real shear.
_ZERO_FRACTION = 1e-3


@dataclass(frozen=True)
class Orientation:
    """Stored pixels to displayed pixels: swap the axes if ``transpose``, then flip.

    Attributes:
        transpose: the picture's rows become its columns (every 90/270-degree case).
        flip_rows: after transposing, reverse the row order (upside down).
        flip_cols: after transposing, reverse the column order (mirror).
    """

    transpose: bool = False
    flip_rows: bool = False
    flip_cols: bool = False

    @property
    def is_identity(self) -> bool:
        return not (self.transpose or self.flip_rows or self.flip_cols)

    def display_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the displayed picture for a stored ``width`` x ``height`` one."""
        return (height, width) if self.transpose else (width, height)

    def apply(self, picture: np.ndarray) -> np.ndarray:
        """The ``HxWxC`` picture as displayed, C-contiguous (sinks and encoders need that)."""
        if self.is_identity:
            return picture
        shown = picture.swapaxes(0, 1) if self.transpose else picture
        if self.flip_rows:
            shown = shown[::-1]
        if self.flip_cols:
            shown = shown[:, ::-1]
        return np.ascontiguousarray(shown)

    @classmethod
    def from_display_matrix(cls, matrix: np.ndarray) -> Orientation:
        """The orientation an FFmpeg display matrix (9 int32, row-major ``a b u c d v x y w``)
        describes.

        FFmpeg maps a stored pixel (x, y), y pointing down, to ``x' = a x + c y``,
        ``y' = b x + d y``: ``b = c = 0`` keeps the axes (``a < 0`` mirrors, ``d < 0`` flips),
        ``a = d = 0`` swaps them (``y'`` then follows ``x`` with the sign of ``b``). This is what
        the ``ffmpeg`` tool's autorotate does (checked against it for 90, 180 and 270 degrees).
        Scaling in the matrix is ignored, as players do.

        Raises:
            InputError: a rotation that is not a multiple of 90 degrees (the caller adds the
                file's name).
        """
        a, b, c, d = (float(matrix[i]) for i in (0, 1, 3, 4))
        largest = max(abs(a), abs(b), abs(c), abs(d))
        if largest == 0:
            return cls()  # an all-zero matrix says nothing: players show such a file unrotated
        zero = largest * _ZERO_FRACTION
        if abs(b) <= zero and abs(c) <= zero and abs(a) > zero and abs(d) > zero:
            return cls(transpose=False, flip_rows=d < 0, flip_cols=a < 0)
        if abs(a) <= zero and abs(d) <= zero and abs(b) > zero and abs(c) > zero:
            return cls(transpose=True, flip_rows=b < 0, flip_cols=c < 0)
        raise _unsupported_angle(-math.degrees(math.atan2(b, a)))

    @classmethod
    def from_rotation(cls, degrees: float) -> Orientation:
        """The orientation of a counterclockwise rotation (FFmpeg's ``frame.rotation``)."""
        turns = round(degrees / 90)
        if abs(degrees - 90 * turns) > 1:
            raise _unsupported_angle(degrees)
        return _QUARTER_TURNS_CCW[turns % 4]


def _unsupported_angle(degrees: float) -> InputError:
    return InputError(f"display matrix rotates by {degrees:.1f} degrees; only multiples of 90 are supported")


_QUARTER_TURNS_CCW = (
    Orientation(),
    Orientation(transpose=True, flip_rows=True),  # 90 ccw: the right column becomes the top row
    Orientation(flip_rows=True, flip_cols=True),
    Orientation(transpose=True, flip_cols=True),  # 90 clockwise
)

# EXIF tag 0x0112 (TIFF 6.0 / Exif 2.3): the value says how the stored picture must be turned
# to be shown (1 = as stored, 6 = turn 90 degrees clockwise, ...); 2, 4, 5, 7 are the mirrored
# ones. Values outside 1..8 are invalid and, like every viewer does, ignored.
EXIF_ORIENTATIONS = {
    1: Orientation(),
    2: Orientation(flip_cols=True),
    3: Orientation(flip_rows=True, flip_cols=True),
    4: Orientation(flip_rows=True),
    5: Orientation(transpose=True),
    6: Orientation(transpose=True, flip_cols=True),
    7: Orientation(transpose=True, flip_rows=True, flip_cols=True),
    8: Orientation(transpose=True, flip_rows=True),
}


def frame_orientation(frame: av.VideoFrame) -> Orientation:
    """The orientation of a decoded video frame, from its display matrix side data.

    FFmpeg decoders copy the stream's display matrix (and H.264/HEVC display-orientation SEI)
    onto every frame. PyAV 18 cannot list a frame's side data when one entry is of a type
    newer than its enum (FFmpeg 8's EXIF or view-id data raise ValueError); the rotation,
    which PyAV reads without listing, is used then: exact for rotations, blind to mirroring
    (a mirrored display matrix next to such side data has not been seen in any file).

    The side data is read through a container of its own, not ``frame.side_data``: PyAV caches
    that one on the frame and it points back at the frame, a reference cycle that kept every
    decoded picture alive until Python's cycle collector ran (peak RSS grew with the clip:
    decoding 240 frames of 720p peaked at 300 MB, against 80 MB without it).
    """
    try:
        side_data = SideDataContainer(frame)
    except ValueError:
        return Orientation.from_rotation(frame.rotation)
    matrix = side_data.get(SideDataType.DISPLAYMATRIX)
    if matrix is None:
        return Orientation()
    return Orientation.from_display_matrix(np.frombuffer(bytes(matrix), dtype="<i4", count=9))
