"""Synthetic 7-frame windows from still photographs, with an exact middle frame.

Real clips are few; a photo moved by a known motion gives unlimited windows whose ground truth
is exact, because every frame is rendered from the photo rather than interpolated.

Frame t (t = 0..6, tau = t - 3) is the photo resampled at

    q(p, tau) = centre + velocity * tau + scale * exp(zoom * tau) * R(spin * tau) p

where p is the output pixel relative to the crop centre and R a rotation. Velocity, zoom rate
and spin are constant over the window, so the motion is smooth and symmetric about frame 3,
and frame 3 is the photo under exactly the same family of warps at tau = 0 (no special case),
so it carries the same resampling as its neighbours. Resampling is bicubic (PyTorch
``grid_sample``, cubic convolution a = -0.75, which reproduces pixel values at integer
positions), with reflection outside the photo, clamped to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from stmfnet_trt.evaluation.windows import TARGET, WINDOW


@dataclass(frozen=True)
class MotionRange:
    """Bounds of the random motion; the defaults resemble Vimeo-90K's typical motion."""

    max_speed: float = 6.0  # source pixels per frame (inputs 2 frames apart move up to 12 px)
    max_zoom: float = 0.02  # |d log(scale) / dt| per frame
    max_spin: float = math.radians(1.0)  # rotation per frame
    min_scale: float = 0.8  # source pixels per output pixel at tau = 0
    max_scale: float = 1.25


@dataclass(frozen=True)
class Motion:
    """One window's motion (see the module docstring for the formula)."""

    centre: tuple[float, float]  # (x, y) in photo pixel coordinates at tau = 0
    velocity: tuple[float, float]  # (x, y) source pixels per frame
    scale: float
    zoom: float
    spin: float


def random_motion(
    rng: np.random.Generator, photo_size: tuple[int, int], crop: int, limits: MotionRange
) -> Motion:
    """Draw a motion whose path keeps the crop centre inside the photo for all seven frames."""
    height, width = photo_size
    speed = rng.uniform(0.0, limits.max_speed)
    heading = rng.uniform(0.0, 2 * math.pi)
    velocity = (speed * math.cos(heading), speed * math.sin(heading))
    scale = math.exp(rng.uniform(math.log(limits.min_scale), math.log(limits.max_scale)))
    travel = [abs(v) * TARGET for v in velocity]
    reach = scale * crop / 2
    centre = tuple(
        rng.uniform(lo, hi) if lo < hi else side / 2
        for side, lo, hi in (
            (width, reach + travel[0], width - reach - travel[0]),
            (height, reach + travel[1], height - reach - travel[1]),
        )
    )
    return Motion(
        centre=centre,
        velocity=velocity,
        scale=scale,
        zoom=rng.uniform(-limits.max_zoom, limits.max_zoom),
        spin=rng.uniform(-limits.max_spin, limits.max_spin),
    )


def sample_grid(
    motion: Motion, tau: float, size: tuple[int, int], photo_size: tuple[int, int]
) -> torch.Tensor:
    """``grid_sample`` grid (1, h, w, 2) of frame ``tau``: normalised photo coordinates."""
    height, width = size
    rows = torch.arange(height, dtype=torch.float64) - (height - 1) / 2
    cols = torch.arange(width, dtype=torch.float64) - (width - 1) / 2
    py, px = torch.meshgrid(rows, cols, indexing="ij")
    gain = motion.scale * math.exp(motion.zoom * tau)
    cos, sin = math.cos(motion.spin * tau), math.sin(motion.spin * tau)
    qx = motion.centre[0] + motion.velocity[0] * tau + gain * (cos * px - sin * py)
    qy = motion.centre[1] + motion.velocity[1] * tau + gain * (sin * px + cos * py)
    photo_h, photo_w = photo_size
    # align_corners=False: pixel i's centre sits at normalised (2 i + 1) / n - 1.
    grid = torch.stack([(2 * qx + 1) / photo_w - 1, (2 * qy + 1) / photo_h - 1], dim=-1)
    return grid.to(torch.float32).unsqueeze(0)


def render_window(photo: np.ndarray, motion: Motion, size: tuple[int, int]) -> torch.Tensor:
    """The seven frames (7, 3, h, w) float32 in [0, 1] of ``photo`` (H, W, 3) uint8 under ``motion``."""
    image = torch.from_numpy(np.ascontiguousarray(photo.transpose(2, 0, 1))).float().div_(255).unsqueeze(0)
    grids = torch.cat([sample_grid(motion, t - TARGET, size, photo.shape[:2]) for t in range(WINDOW)])
    frames = F.grid_sample(
        image.expand(WINDOW, -1, -1, -1),
        grids,
        mode="bicubic",
        padding_mode="reflection",
        align_corners=False,
    )
    return frames.clamp_(0.0, 1.0)
