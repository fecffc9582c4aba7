"""Tiled inference: any backend over overlapping spatial tiles, blended without seams.

Memory grows with the frame area (ONNX Runtime with our warp op: 1.3 GB at 544x960, ~5 GB at
1080p; torch eager: 9.5 GB at 544x960), and a TensorRT engine is built for a bounded size. Tiling
bounds both by the tile area: the frame is cut into tiles of ``tile`` pixels per side (multiples of
128, the export contract, so the backend pads nothing inside a frame), neighbouring tiles overlap
by at least ``overlap`` pixels, and each output pixel is the weighted mean of the tiles covering
it, with weights that ramp linearly across each overlap (and stay 1 at the frame's own borders).
Tiles are placed so that all of them have the full tile size: the last tile of a row or column is
shifted back to end at the frame border (overlapping its neighbour more). A side shorter than the
tile is one tile of that side, which the backend pads as usual.

When tiling changes nothing, and when it does: a backend whose output pixel depends only on the
same input pixel (``BlendBackend``) gives the untiled result (up to float rounding of the
normalisation). ST-MFNet does not: besides its finite receptive field (offsets of the warp, 3x3
stacks, the feature U-Net's four stride-2 levels and the 3-D texture branch - far more than any
practical overlap) it has *global* squeeze-excitation gates (feature extractor ``SEBlock`` and
texture branch ``SEGating``) that average every channel over the whole frame. Every output pixel
therefore depends on every input pixel, and a tiled frame equals the untiled one only when one
tile covers it (the wrapper then passes the frame through untouched). Otherwise the difference is
measured (tests/runtime/backends/test_tiling.py): small where the gates' frame means are close to the
tile means (smooth, stationary content) and largest near the tile borders the overlap hides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stmfnet_trt.core.contract import SIZE_MULTIPLE
from stmfnet_trt.core.errors import ParameterError
from stmfnet_trt.runtime.backend import Backend


@dataclass(frozen=True)
class TileOptions:
    """``tile``: side of the square tiles in pixels (a multiple of 128); ``overlap``: pixels
    shared by neighbouring tiles at least (0 <= overlap < tile; 0 gives hard seams)."""

    tile: int
    overlap: int = 64

    def __post_init__(self) -> None:
        if self.tile <= 0 or self.tile % SIZE_MULTIPLE:
            raise ParameterError("tile", f"must be a positive multiple of {SIZE_MULTIPLE}, got {self.tile}")
        if not 0 <= self.overlap < self.tile:
            raise ParameterError("overlap", f"must be in [0, tile) = [0, {self.tile}), got {self.overlap}")


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of full-size tiles covering ``length`` with at least ``overlap`` in common."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def edge_ramp(size: int, overlap_before: int, overlap_after: int) -> np.ndarray:
    """1-D blend weights of one tile: linear up across the overlap with the previous tile, down
    across the one with the next, 1 elsewhere; never 0, so every pixel has a weight."""
    weights = np.ones(size, dtype=np.float32)
    if overlap_before:
        weights[:overlap_before] = (np.arange(overlap_before, dtype=np.float32) + 0.5) / overlap_before
    if overlap_after:
        weights[size - overlap_after :] = np.minimum(
            weights[size - overlap_after :],
            (np.arange(overlap_after, 0, -1, dtype=np.float32) - 0.5) / overlap_after,
        )
    return weights


def axis_weights(length: int, tile: int, overlap: int) -> list[tuple[slice, np.ndarray]]:
    """(slice of the axis, blend weights) for every tile along one axis."""
    size = min(length, tile)
    starts = tile_starts(length, tile, overlap)
    tiles = []
    for index, start in enumerate(starts):
        before = starts[index - 1] + size - start if index > 0 else 0
        after = start + size - starts[index + 1] if index + 1 < len(starts) else 0
        tiles.append((slice(start, start + size), edge_ramp(size, before, after)))
    return tiles


class TiledBackend(Backend):
    """Runs ``inner`` tile by tile and blends the tiles; a frame that fits in one tile is passed
    through unchanged. Closing it closes ``inner``."""

    def __init__(self, inner: Backend, options: TileOptions) -> None:
        self.inner = inner
        self.options = options
        self.name = f"{inner.name} (tiles {options.tile}, overlap {options.overlap})"

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        height, width = windows.shape[-2:]
        tile, overlap = self.options.tile, self.options.overlap
        if height <= tile and width <= tile:
            return self.inner.interpolate(windows)
        out = np.zeros((windows.shape[0], windows.shape[2], height, width), dtype=np.float32)
        total = np.zeros((height, width), dtype=np.float32)
        for rows, row_weights in axis_weights(height, tile, overlap):
            for cols, col_weights in axis_weights(width, tile, overlap):
                weights = row_weights[:, None] * col_weights[None, :]
                tile_windows = np.ascontiguousarray(windows[..., rows, cols])
                out[..., rows, cols] += self.inner.interpolate(tile_windows) * weights
                total[rows, cols] += weights
        return out / total

    def close(self) -> None:
        self.inner.close()
