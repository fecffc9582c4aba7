"""Side-by-side crops for looking at results: ground truth, baselines, model, error map.

One PNG per chosen window: panels left to right in the order given (the report's JSON lists
it), separated by white gaps. The crop is the ``CROP``-sized region where the model's error is
largest, so the picture shows where the model struggles rather than a random patch. The error
map is |model - ground truth| averaged over RGB, amplified ``ERROR_GAIN`` times, in grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stmfnet_trt.io.images import encode_png

CROP = 256
GAP = 4
ERROR_GAIN = 4


def error_map(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Grey (H, W, 3) uint8 picture of the amplified mean absolute error."""
    error = np.abs(prediction.astype(np.int16) - truth.astype(np.int16)).mean(axis=2) * ERROR_GAIN
    return np.repeat(np.clip(error, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def worst_region(prediction: np.ndarray, truth: np.ndarray, size: int = CROP) -> tuple[slice, slice]:
    """The (rows, cols) window of at most ``size`` x ``size`` with the largest summed error."""
    error = np.abs(prediction.astype(np.float64) - truth.astype(np.float64)).sum(axis=2)
    height, width = error.shape
    h, w = min(size, height), min(size, width)
    integral = np.pad(error.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]
    top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return slice(top, top + h), slice(left, left + w)


def side_by_side(panels: Sequence[np.ndarray]) -> np.ndarray:
    """Panels of one size in a row, ``GAP`` white pixels apart."""
    height = panels[0].shape[0]
    gap = np.full((height, GAP, 3), 255, np.uint8)
    row: list[np.ndarray] = []
    for panel in panels:
        row.extend([gap, panel] if row else [panel])
    return np.concatenate(row, axis=1)


def write_comparison(
    path: Path, truth: np.ndarray, predictions: dict[str, np.ndarray], model_key: str
) -> list[str]:
    """Write the PNG for one frame and return its panel order (ground truth, methods, error)."""
    region = worst_region(predictions[model_key], truth)
    panels = [truth[region], *(frame[region] for frame in predictions.values())]
    panels.append(error_map(predictions[model_key][region], truth[region]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(np.ascontiguousarray(side_by_side(panels))))
    return ["ground truth", *predictions, f"|{model_key} - ground truth| x{ERROR_GAIN}"]
