"""Training batches and the held-out validation set, deterministic from a seed.

Every sample is a pure function of ``(seed, step, index in batch)``: its random generator is
seeded with those three numbers. A resumed run therefore sees exactly the batches an
uninterrupted run would, with no data-loader state to save, and any step can be reproduced
alone.

A sample is either a window of a real clip (uniform over all training windows of all clips) or
a synthetic window rendered from a photo (``synthetic.py``), chosen with probability
``synthetic_fraction`` when both kinds exist. Augmentation as in the official training (spec
§9): random crop, horizontal flip p = 0.5, vertical flip p = 0.5, temporal reversal p = 0.5.
Beyond the spec, with probability ``photometric`` (default 0: off): one random gain for the
whole window, clipped to [0, 1], so the network sees blown-out highlights and dim footage (the
first demo weights diverged on large saturated skies they had never seen; the second, trained
with gains from 0.6, diverge on night-dark footage, hence the range now reaching 0.25). Gain and
clipping act on each pixel alone, so the target stays the exact middle frame. Not applied to
samples that have a teacher frame (the teacher saw the frames without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.evaluation.windows import INPUTS, TARGET, WINDOW
from stmfnet_trt.train.sources import Clip, load_teacher_frame
from stmfnet_trt.train.synthetic import MotionRange, random_motion, render_window

FLIP_PROBABILITY = 0.5
REVERSE_PROBABILITY = 0.5
# Photometric gain range (log-uniform): 0.25 makes a typical frame as dark as a night scene (mean
# ~0.1: the weights trained with 0.6 diverge there); 1.8 clips a fifth of a typical frame to white.
GAIN_RANGE = (0.25, 1.8)
VALIDATION_SEED_OFFSET = 1_000_003  # keeps synthetic validation windows apart from training ones


@dataclass(frozen=True)
class Batch:
    """Model inputs (B, 4, 3, h, w), targets (B, 3, h, w), teacher frames and their mask (B,)."""

    inputs: torch.Tensor
    target: torch.Tensor
    teacher: torch.Tensor | None
    has_teacher: torch.Tensor


class RepeatedBatch:
    """Training data that serves one batch at every step: a loss that must fall on the same
    samples (tests), or steps timed on identical work (bench/train_step.py)."""

    def __init__(self, batch: Batch) -> None:
        self.fixed = batch

    def batch(self, step: int, size: int) -> Batch:
        return self.fixed


@dataclass(frozen=True)
class DataOptions:
    """How samples are drawn; ``crop`` sides must divide by 16 (Laplacian pyramid)."""

    crop: int = 256
    synthetic_fraction: float = 0.5
    photometric: float = 0.0  # probability of a random gain with clipping (module docstring)
    motion: MotionRange = field(default_factory=MotionRange)


def _to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(..., H, W, 3) uint8 -> (..., 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(frames, -1, -3))).float().div_(255)


def split_window(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(…, 7, 3, h, w) window -> model inputs (…, 4, 3, h, w) and target (…, 3, h, w)."""
    return frames[..., list(INPUTS), :, :, :], frames[..., TARGET, :, :, :]


class TrainingData:
    """Draws augmented training samples from clips and photos (module docstring)."""

    def __init__(
        self,
        clips: Sequence[Clip],
        photos: Sequence[np.ndarray],
        options: DataOptions,
        seed: int,
        teacher_dir: Path | None = None,
    ) -> None:
        self.options = options
        self.seed = seed
        self.teacher_dir = teacher_dir
        crop = options.crop
        self.clips = [c for c in clips if min(c.frames.shape[1:3]) >= crop and c.train_starts]
        self.photos = list(photos)
        self.windows = [(i, s) for i, clip in enumerate(self.clips) for s in clip.train_starts]
        if not self.windows and not self.photos:
            raise UserError(
                f"no training material: no clip has a usable window of at least {crop}x{crop} "
                "and no photos were given (see scripts/fetch_training_data.py)"
            )
        has_both = self.windows and self.photos
        self.synthetic_fraction = options.synthetic_fraction if has_both else float(not self.windows)

    def _clip_sample(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        clip_index, start = self.windows[rng.integers(len(self.windows))]
        clip = self.clips[clip_index]
        height, width = clip.frames.shape[1:3]
        crop = self.options.crop
        top, left = rng.integers(height - crop + 1), rng.integers(width - crop + 1)
        region = (slice(top, top + crop), slice(left, left + crop))
        frames = _to_tensor(clip.frames[start : start + WINDOW, region[0], region[1]])
        teacher = None
        if self.teacher_dir is not None:
            found = load_teacher_frame(self.teacher_dir, clip, start + TARGET)
            teacher = None if found is None else _to_tensor(found[region[0], region[1]])
        return frames, teacher

    def _synthetic_sample(self, rng: np.random.Generator) -> torch.Tensor:
        photo = self.photos[rng.integers(len(self.photos))]
        crop = self.options.crop
        motion = random_motion(rng, photo.shape[:2], crop, self.options.motion)
        return render_window(photo, motion, (crop, crop))

    def sample(self, step: int, index: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Augmented window (7, 3, c, c) and teacher frame (3, c, c) or None, for (step, index)."""
        rng = np.random.default_rng([self.seed, step, index])
        if rng.random() < self.synthetic_fraction:
            frames, teacher = self._synthetic_sample(rng), None
        else:
            frames, teacher = self._clip_sample(rng)
        flips = [dim for dim in (-1, -2) if rng.random() < FLIP_PROBABILITY]
        if flips:
            frames = frames.flip(flips)
            teacher = None if teacher is None else teacher.flip(flips)
        if rng.random() < REVERSE_PROBABILITY:
            frames = frames.flip(0)  # frame 3 (target, and the teacher frame) stays in the middle
        # Drawn only when enabled, so runs without it keep their batches.
        if self.options.photometric and teacher is None and rng.random() < self.options.photometric:
            gain = float(np.exp(rng.uniform(*np.log(GAIN_RANGE))))
            frames = (frames * gain).clamp_(0.0, 1.0)
        return frames, teacher

    def batch(self, step: int, size: int) -> Batch:
        """The ``size`` samples of ``step``, stacked; teacher rows without a frame are zeros."""
        samples = [self.sample(step, i) for i in range(size)]
        inputs, target = split_window(torch.stack([frames for frames, _ in samples]))
        has_teacher = torch.tensor([t is not None for _, t in samples])
        teacher = (
            torch.stack([torch.zeros_like(target[0]) if t is None else t for _, t in samples])
            if has_teacher.any()
            else None
        )
        return Batch(inputs, target, teacher, has_teacher)


def _centre_crop(frames: np.ndarray, crop: int) -> np.ndarray:
    height, width = frames.shape[1:3]
    side_h, side_w = min(crop, height - height % 16), min(crop, width - width % 16)
    top, left = (height - side_h) // 2, (width - side_w) // 2
    return frames[:, top : top + side_h, left : left + side_w]


def validation_windows(
    clips: Sequence[Clip],
    photos: Sequence[np.ndarray],
    count: int,
    crop: int,
    seed: int,
    motion: MotionRange | None = None,
) -> list[torch.Tensor]:
    """Up to ``count`` fixed windows (7, 3, h, w): held-out clip windows, centre-cropped, no flips.

    Windows are taken evenly from each clip's held-out range, clips in turn. Without clips,
    synthetic windows from the photos with a seed of their own stand in; they test the same
    photos as training (there is no held-out content then), which the log says.
    """
    per_clip = [
        [
            clip.val_starts[i]
            for i in np.linspace(0, len(clip.val_starts) - 1, min(count, len(clip.val_starts))).astype(int)
        ]
        for clip in clips
        if clip.val_starts
    ]
    usable = [clip for clip in clips if clip.val_starts]
    chosen: list[torch.Tensor] = []
    for rank in range(max((len(p) for p in per_clip), default=0)):
        for clip, starts in zip(usable, per_clip, strict=True):
            if rank < len(starts) and len(chosen) < count:
                start = starts[rank]
                chosen.append(_to_tensor(_centre_crop(clip.frames[start : start + WINDOW], crop)))
    if chosen or not photos:
        return chosen
    rng = np.random.default_rng([seed, VALIDATION_SEED_OFFSET])
    windows = []
    for _ in range(count):
        photo = photos[rng.integers(len(photos))]
        windows.append(
            render_window(
                photo, random_motion(rng, photo.shape[:2], crop, motion or MotionRange()), (crop, crop)
            )
        )
    return windows
