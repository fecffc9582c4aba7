"""Training material: clips (videos, frame folders) and still photos, found, loaded and split.

A clip is decoded once into memory as ``uint8`` frames (the sample clips are small; a long
video should be cut first). Its 7-frame windows (frames s..s+6: inputs s, s+2, s+4, s+6,
target s+3) are usable unless

* two consecutive frames of the window are a scene cut (``runtime.scene.cut_score``, the same
  detector ``run`` uses): interpolating across a cut teaches the model to blend shots; or
* a frame repeats its predecessor (mean difference below ``REPEAT_THRESHOLD``): Big Buck
  Bunny's 24 -> 25 fps conversion repeats every 25th frame, which breaks the constant spacing
  in time that the model assumes.

Held-out split: the last ``holdout`` fraction of each clip's frames (15 % by default) gives the
validation windows, the frames before it the training windows; no frame is in both.

Sources listed in ``RESERVED_FOR_EVALUATION`` (Debian's opencv-doc sample videos) are refused:
they are kept for independent evaluation, so nothing may be trained or tuned on them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.evaluation.windows import WINDOW, bad_pairs, clean_starts
from stmfnet_trt.io import open_source
from stmfnet_trt.io.folder_source import list_images
from stmfnet_trt.io.images import IMAGE_SUFFIXES, read_image
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector

DEFAULT_HOLDOUT = 0.15
# Mean absolute difference (in [0, 1] units) below which a frame counts as a repeat. Big Buck
# Bunny's repeated frames measure 0.05-0.12 / 255, its slowest real motion 0.34 / 255.
REPEAT_THRESHOLD = 0.2 / 255
CLIPS_FOLDER = "clips"
PHOTOS_FOLDER = "photos"
RESERVED_FOR_EVALUATION = (Path("/usr/share/doc/opencv-doc"),)


@dataclass(frozen=True)
class Clip:
    """Decoded frames (T, H, W, 3) uint8 and the start frames of its usable windows."""

    name: str
    frames: np.ndarray
    train_starts: tuple[int, ...]
    val_starts: tuple[int, ...]
    skipped_windows: int
    factor: int = 1  # the box downscale applied to every frame (teacher frames get the same)


@dataclass(frozen=True)
class SourceList:
    """What ``discover_sources`` found: clip paths and photo paths."""

    clips: tuple[Path, ...]
    photos: tuple[Path, ...]


def _refuse_reserved(path: Path) -> None:
    resolved = path.resolve()
    for reserved in RESERVED_FOR_EVALUATION:
        if resolved == reserved or reserved in resolved.parents:
            raise UserError(f"{path}: {reserved} is reserved for independent evaluation; never train on it")


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def discover_sources(data: Sequence[str | Path], photos: Sequence[str | Path] = ()) -> SourceList:
    """Resolve ``data`` and ``photos`` entries (the CLI's ``--data``, ``--photos``) into clips and photos.

    A ``data`` entry is a folder in the layout ``scripts/fetch_training_data.py`` writes
    (``clips/`` with videos or frame folders, ``photos/`` with images), a video file, or a frame
    folder. A ``photos`` entry is an image or a folder of images.
    """
    clips: list[Path] = []
    stills: list[Path] = []
    for entry in map(Path, data):
        _refuse_reserved(entry)
        if not entry.exists():
            raise InputError(f"{entry}: no such file or folder")
        layout = [entry / CLIPS_FOLDER, entry / PHOTOS_FOLDER]
        if entry.is_dir() and any(folder.is_dir() for folder in layout):
            if layout[0].is_dir():
                clips.extend(sorted(p for p in layout[0].iterdir() if not p.name.startswith(".")))
            if layout[1].is_dir():
                stills.extend(list_images(layout[1]))
        else:
            clips.append(entry)
    for entry in map(Path, photos):
        _refuse_reserved(entry)
        if entry.is_dir():
            stills.extend(list_images(entry))
        elif _is_image(entry):
            stills.append(entry)
        else:
            raise InputError(f"{entry}: not an image or a folder of images")
    return SourceList(tuple(clips), tuple(stills))


def downscale_factor(height: int, width: int, max_side: int | None) -> int:
    """The smallest integer factor that brings the longer side to <= ``max_side`` (1: none)."""
    return 1 if max_side is None else max(1, math.ceil(max(height, width) / max_side))


def box_downscale(frames: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor x factor`` blocks of (..., H, W, 3) uint8 frames.

    An integer box filter keeps the result free of ringing and of any imaging library; the
    few right/bottom pixels that do not fill a block are dropped.
    """
    if factor == 1:
        return frames
    height, width = frames.shape[-3:-1]
    h, w = height // factor, width // factor
    blocks = frames[..., : h * factor, : w * factor, :].reshape(*frames.shape[:-3], h, factor, w, factor, 3)
    return (blocks.mean(axis=(-4, -2), dtype=np.float32) + 0.5).astype(np.uint8)


def usable_starts(frames: np.ndarray, detector: SceneCutDetector) -> list[int]:
    """Start frames of the windows that hold no scene cut and no repeated frame."""
    bad = bad_pairs(frames, detector, REPEAT_THRESHOLD)
    return clean_starts(bad, range(len(frames) - WINDOW + 1))


def holdout_boundary(frame_count: int, holdout: float) -> int:
    """The first held-out frame: frames from here on are never trained on."""
    return frame_count - round(frame_count * holdout)


def split_starts(starts: Sequence[int], frame_count: int, holdout: float) -> tuple[list[int], list[int]]:
    """Training and held-out window starts: held-out windows lie wholly in the last frames."""
    boundary = holdout_boundary(frame_count, holdout)
    train = [s for s in starts if s + WINDOW <= boundary]
    val = [s for s in starts if s >= boundary]
    return train, val


def load_clip(
    path: Path,
    *,
    max_side: int | None = None,
    holdout: float = DEFAULT_HOLDOUT,
    detector: SceneCutDetector | None = None,
) -> Clip:
    """Decode a video or frame folder and work out its usable training and held-out windows."""
    # The rate is irrelevant here: 1 avoids the folder warning, and a VFR clip trains as well.
    with open_source(path, fps=1, assume_constant_rate=True) as source:
        frames = np.stack(list(source))
    factor = downscale_factor(*frames.shape[1:3], max_side)
    frames = box_downscale(frames, factor)
    starts = usable_starts(frames, detector or SceneCutDetector())
    train, val = split_starts(starts, len(frames), holdout)
    skipped = max(0, len(frames) - WINDOW + 1) - len(starts)
    name = path.stem if path.is_file() else path.name
    return Clip(name, frames, tuple(train), tuple(val), skipped, factor)


def load_photo(path: Path, max_side: int | None = None) -> np.ndarray:
    """An image as (H, W, 3) uint8, box-downscaled so its longer side is <= ``max_side``."""
    image = read_image(path).rgb
    return box_downscale(image, downscale_factor(*image.shape[:2], max_side))


def load_teacher_frame(folder: Path, clip: Clip, index: int) -> np.ndarray | None:
    """The teacher's frame ``index`` of ``clip`` from ``folder/<clip>/<index:06d>.png``, if any.

    Teacher frames are stored at the clip's original resolution and downscaled here exactly
    like the clip's own frames.
    """
    path = folder / clip.name / f"{index:06d}.png"
    if not path.is_file():
        return None
    frame = box_downscale(read_image(path).rgb, clip.factor)
    if frame.shape != clip.frames.shape[1:]:
        raise InputError(f"{path}: teacher frame is {frame.shape}, clip frames are {clip.frames.shape[1:]}")
    return frame
