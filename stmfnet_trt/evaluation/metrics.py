"""PSNR and SSIM on 8-bit frames, in NumPy (no imaging or ML library needed).

Both metrics compare ``uint8`` (H, W, 3) RGB frames, i.e. after the network output has been
clamped and rounded, as the official evaluation quantises before measuring (spec §9).

* PSNR: ``10 log10(255^2 / MSE)`` over all pixels and channels; identical frames give ``inf``.
* SSIM: Wang et al. (2004) with the usual constants: 11x11 Gaussian window, sigma 1.5,
  K1 = 0.01, K2 = 0.03, L = 255, population (not sample) statistics, computed on each RGB
  channel separately and averaged, over the "valid" region only (the 5-pixel border where the
  window would leave the frame is dropped, as in the reference MATLAB code). This matches
  ``skimage.metrics.structural_similarity(..., channel_axis=-1, gaussian_weights=True,
  use_sample_covariance=False, data_range=255)`` up to that border handling.
"""

from __future__ import annotations

import math

import numpy as np

PEAK = 255.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected two (H, W, 3) frames of one size; got {a.shape} and {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 (H, W, 3) frames; ``inf`` when they are equal."""
    _check_pair(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(PEAK**2 / mse)


def _gaussian_taps() -> np.ndarray:
    x = np.arange(SSIM_WINDOW, dtype=np.float64) - SSIM_WINDOW // 2
    taps = np.exp(-(x**2) / (2 * SSIM_SIGMA**2))
    return taps / taps.sum()


def _filter_valid(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable Gaussian filter of (H, W, C) over H and W, keeping only the valid region."""
    rows = np.lib.stride_tricks.sliding_window_view(image, len(taps), axis=0) @ taps
    return np.lib.stride_tricks.sliding_window_view(rows, len(taps), axis=1) @ taps


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 (H, W, 3) frames, per RGB channel then averaged (module docstring)."""
    _check_pair(a, b)
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs frames of at least {SSIM_WINDOW}x{SSIM_WINDOW}; got {a.shape[:2]}")
    x, y = a.astype(np.float64), b.astype(np.float64)
    taps = _gaussian_taps()
    mu_x, mu_y = _filter_valid(x, taps), _filter_valid(y, taps)
    var_x = _filter_valid(x * x, taps) - mu_x**2
    var_y = _filter_valid(y * y, taps) - mu_y**2
    cov = _filter_valid(x * y, taps) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(index.mean())
