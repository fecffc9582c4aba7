"""Synthetic pictures and clips for the training and evaluation tests (imported by name)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stmfnet_trt.io.images import encode_png


def smooth_photo(height: int = 160, width: int = 200, seed: int = 0) -> np.ndarray:
    """A colourful (H, W, 3) uint8 image of sinusoids: texture at several scales, no flat areas."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    channels = [
        127 + 60 * np.sin(x / rng.uniform(4, 9) + y / rng.uniform(5, 12)) + 50 * np.cos(y / rng.uniform(3, 8))
        for _ in range(3)
    ]
    return np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)


def write_frames(folder: Path, frames: Sequence[np.ndarray]) -> Path:
    """A frame folder of lossless PNGs, frame000.png, frame001.png…"""
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        (folder / f"frame{index:03d}.png").write_bytes(encode_png(np.ascontiguousarray(frame)))
    return folder


def panning_frames(count: int, size: int = 128, speed: int = 2, seed: int = 0) -> list[np.ndarray]:
    """Frames of a photo panned ``speed`` px per frame to the right (a clip with real motion)."""
    photo = smooth_photo(size, size + speed * count, seed)
    return [
        np.ascontiguousarray(photo[:, speed * (count - k) : speed * (count - k) + size]) for k in range(count)
    ]
