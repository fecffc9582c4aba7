"""Single still images (PNG, JPEG) to and from RGB arrays, through PyAV.

PyAV already decodes and encodes PNG and JPEG, so frame folders need no imaging library.

Pixel formats other than 8-bit RGB are converted explicitly, and always the same way:
grey is replicated into R = G = B, an alpha channel is dropped (not composited onto any
background: the colour values are kept as stored), 16-bit samples are reduced to 8 bits, and
palette images are expanded. ``has_alpha`` lets a caller warn that alpha was ignored.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from stmfnet_trt.errors import InputError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


def decode_image(path: Path) -> av.VideoFrame:
    """Decode the one picture in an image file; InputError names the file if that fails."""
    try:
        with av.open(str(path)) as container:
            return next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as exc:
        reason = getattr(exc, "strerror", None) or "no picture in it"
        raise InputError(f"{path}: not a readable PNG or JPEG image ({reason})") from exc


def has_alpha(frame: av.VideoFrame) -> bool:
    """Whether the picture carries an alpha channel, which ``to_rgb`` drops."""
    return any(component.is_alpha for component in frame.format.components)


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """The picture as an ``HxWx3`` ``uint8`` RGB array (conversion rules: module docstring)."""
    return frame.to_ndarray(format="rgb24")


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode an ``HxWx3`` ``uint8`` RGB array as a PNG file's bytes (lossless)."""
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = frame.width, frame.height, "rgb24"
    return b"".join(bytes(packet) for packet in (*encoder.encode(frame), *encoder.encode(None)))
