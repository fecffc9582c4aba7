"""Frame conversion between video (uint8 HxWx3 RGB) and the model (float32 3xHxW in [0, 1]).

Every backend, the scheduler, calibration, evaluation and training convert the same way; one
definition keeps their frames bit-identical to each other. The scheduler takes decoded frames
as uint8 (3, H, W) views (``channels_first``) and a backend converts what it reads
(``model_values``): the same float32 values ``to_model_frame`` gives, a quarter of the bytes to
copy until then. ``random_frames`` makes the smooth random frames that parity checks,
calibration fallbacks and benchmarks feed the model.
"""

from __future__ import annotations

import numpy as np

from stmfnet_trt.core.frame_pool import FRAMES

_ROWS_PER_BLOCK = 64  # to_video_frame's scratch: 64 rows of a 1080p frame are 1.5 MB of float32
# A uint8 value v is the image value v / 255, divided in float32 (the one conversion every path uses).
_UINT8_SCALE = np.float32(255)


def model_values(frames: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The float32 values a network reads from ``frames``: uint8 ``v`` as ``v / 255`` (one pass,
    into ``out`` or a new array in the frames' memory layout), float32 as they are (copied into
    ``out`` when given)."""
    if frames.dtype == np.uint8:
        return np.divide(frames, _UINT8_SCALE, out=out, dtype=np.float32)
    if out is None:
        return frames
    np.copyto(out, frames)
    return out


def contiguous_model_values(frames: np.ndarray) -> np.ndarray:
    """``model_values`` as a C-contiguous array: one pass, whatever the frames' strides."""
    if frames.dtype != np.uint8:
        return np.ascontiguousarray(frames)
    return model_values(frames, out=np.empty(frames.shape, np.float32))


def channels_first(frame: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) RGB -> the same pixels as the (3, H, W) view the scheduler takes (value v
    standing for v / 255): nothing is copied or converted until a backend reads it."""
    return frame.transpose(2, 0, 1)


def to_model_frame(frame: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) RGB -> C-contiguous float32 (3, H, W) in [0, 1]."""
    return contiguous_model_values(channels_first(frame))


def to_video_frame(frame: np.ndarray) -> np.ndarray:
    """(3, H, W) frame -> uint8 (H, W, 3): float in [0, 1] rounded to nearest; uint8 as it is.

    A uint8 frame comes back as the (H, W, 3) view of its pixels: ``to_video_frame`` of its float
    values (v / 255) gives the same bytes, for every v. A float frame is clipped, scaled and
    rounded a block of rows at a time in a small scratch (in cache), in (H, W, 3) order, then cast
    into the output: the same bytes as clip, scale, cast and transpose each into a whole-frame copy
    of their own, at ~1.3x their speed on a (3, H, W) frame and ~3.7x on one that is (H, W, 3) in
    memory (what blending decoded frames gives), where there is nothing to transpose.
    """
    if frame.dtype == np.uint8:
        return frame.transpose(1, 2, 0)
    video = _float_to_video(frame, within=None)
    assert video is not None  # nothing to check against
    return video


def to_video_frame_within(frame: np.ndarray, low: float, high: float) -> np.ndarray | None:
    """``to_video_frame`` of a float (3, H, W) frame whose values all lie in [low, high]; None
    where one does not (or is NaN). The test runs on each block of rows while the conversion has
    it in cache: a caller that must check a frame before writing it (the scheduler, on a network's
    output) reads it once instead of three times (min, max, then the conversion)."""
    return _float_to_video(frame, within=(low, high))


def _float_to_video(frame: np.ndarray, within: tuple[float, float] | None) -> np.ndarray | None:
    pixels = frame.transpose(1, 2, 0)
    height, width, channels = pixels.shape
    video = FRAMES.empty((height, width, channels), np.uint8)
    scratch = np.empty((min(height, _ROWS_PER_BLOCK), width, channels), np.result_type(frame.dtype, 0.5))
    for top in range(0, height, _ROWS_PER_BLOCK):
        rows = pixels[top : top + _ROWS_PER_BLOCK]
        # Written so that NaN fails: every comparison with NaN is False.
        if within is not None and not (rows.min() >= within[0] and rows.max() <= within[1]):
            return None
        block = scratch[: rows.shape[0]]
        np.clip(rows, 0.0, 1.0, out=block)
        block *= 255
        block += 0.5
        np.copyto(video[top : top + _ROWS_PER_BLOCK], block, casting="unsafe")  # as astype
    return video


def random_frames(shape: tuple[int, ...], seed: int | None = None) -> np.ndarray:
    """Smooth random frames in [0, 1] (low-resolution noise upsampled), like real images."""
    rng = np.random.default_rng(seed)
    *lead, height, width = shape
    low = rng.random((*lead, -(-height // 8), -(-width // 8)), dtype=np.float32)
    return np.ascontiguousarray(low.repeat(8, axis=-2).repeat(8, axis=-1)[..., :height, :width])
