"""Four-frame windows from the user's own video or frame folder, for calibration and the gate.

INT8 ranges are only as good as the activations they were measured on, so calibration uses the
footage the engine will see, not random noise. Windows are:

* **spread over the clip**: the usable windows are split into equal strata in playback order
  and one window is drawn from each (seeded, so the same seed gives the same windows);
* **free of scene cuts**: a window whose four frames span a cut (``runtime.scene``, the test
  the runtime uses) is never drawn; the runtime never feeds such a window to the model;
* **at the build shape**: frames whose padded size is the build shape are reflect-padded as
  the runtime pads them; larger frames are area-downscaled to cover the shape and centre-cropped;
  smaller ones are an error (upscaled frames would misstate the statistics);
* **split**: ``held_out`` of the strata, evenly interleaved, go to the quality gate and never
  to calibration.

The source is read twice (scene cuts and frame count first, then only the chosen frames), so
memory stays at a few frames whatever the clip's length.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from stmfnet_trt.core.contract import SIZE_MULTIPLE, check_frame_size, pad_to_multiple, padded_size
from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.core.frames import to_model_frame
from stmfnet_trt.io import DEFAULT_FOLDER_FPS, open_source
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector

WINDOW = 4  # frames t-3, t-1, t+1, t+3 = four consecutive source frames
DEFAULT_CALIB_WINDOWS = 16
# The fewest calibration windows taken without being asked for: below this INT8 ranges come from
# too few frames to trust, and the user should say so with an explicit count.
MIN_AUTO_CALIB_WINDOWS = 8


@dataclass(frozen=True)
class CalibrationData:
    """Windows (N, 4, 3, H, W) float32 in [0, 1] for calibration and for the quality gate.

    The provenance fields are filled by ``load_calibration_windows`` and stamped into the
    model's metadata; arrays built by hand (tests, synthetic data) may leave them empty.
    ``starts`` hold each window's first frame index; ``cuts`` the pairs (i, i+1) found to be cuts.
    """

    calib: np.ndarray
    held_out: np.ndarray
    source: str = ""
    frames: int = 0
    calib_starts: tuple[int, ...] = ()
    held_out_starts: tuple[int, ...] = ()
    cuts: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("calib", "held_out"):
            array = getattr(self, name)
            if array.ndim != 5 or array.shape[1:3] != (WINDOW, 3) or array.dtype != np.float32:
                raise UserError(
                    f"CalibrationData.{name} must be float32 (N, 4, 3, H, W), got {array.dtype} {array.shape}"
                )
            if array.shape[-2:] != self.calib.shape[-2:] or any(s % SIZE_MULTIPLE for s in array.shape[-2:]):
                raise UserError(f"calibration windows must share one H, W, multiples of {SIZE_MULTIPLE}")

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of every window: the build shape."""
        return self.calib.shape[-2], self.calib.shape[-1]


def resize_target(height: int, width: int, shape: tuple[int, int]) -> tuple[int, int] | None:
    """How an h x w frame reaches ``shape``: None = runtime padding, else the size to downscale to.

    The downscale size covers ``shape`` (aspect kept) and is then centre-cropped.
    """
    if (padded_size(height), padded_size(width)) == tuple(shape):
        check_frame_size(height, width)
        return None
    target_h, target_w = shape
    if height < target_h or width < target_w:
        raise InputError(
            f"frames are {width}x{height}, smaller than the build shape {target_w}x{target_h} (and they do "
            "not pad to it); calibrate at a smaller shape or with larger frames"
        )
    scale = max(target_h / height, target_w / width)
    return max(target_h, round(height * scale)), max(target_w, round(width * scale))


def fit_to_shape(frame: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 (h, w, 3) RGB -> float32 (3, H, W) in [0, 1] at the build shape (``resize_target``)."""
    target = resize_target(*frame.shape[:2], shape)
    if target is None:
        return pad_to_multiple(to_model_frame(frame))
    if target != frame.shape[:2]:
        image = av.VideoFrame.from_ndarray(frame, format="rgb24")
        frame = image.reformat(width=target[1], height=target[0], interpolation="AREA").to_ndarray()
    top, left = (target[0] - shape[0]) // 2, (target[1] - shape[1]) // 2
    return to_model_frame(frame[top : top + shape[0], left : left + shape[1]])


def usable_starts(cuts: list[bool]) -> list[int]:
    """First frames of the windows that span no cut; ``cuts[i]``: a cut between frames i, i+1."""
    return [s for s in range(len(cuts) - WINDOW + 2) if not any(cuts[s : s + WINDOW - 1])]


def draw_spread(starts: list[int], total: int, rng: np.random.Generator) -> list[int]:
    """One start drawn from each of ``total`` equal strata of ``starts``: distinct, in order."""
    bounds = [i * len(starts) // total for i in range(total + 1)]
    return [starts[int(rng.integers(lo, hi))] for lo, hi in itertools.pairwise(bounds)]


def held_out_strata(total: int, held_out: int) -> set[int]:
    """``held_out`` of ``total`` strata, spread evenly (Bresenham): never all at one end."""
    return {i for i in range(total) if (i + 1) * held_out // total > i * held_out // total}


def _scan(source: Path, detector: SceneCutDetector) -> list[bool]:
    """Pass 1: a cut flag per consecutive pair (its length + 1 is the frame count)."""
    cuts: list[bool] = []
    previous = None
    # Rates do not matter here: the fps only silences the frame-folder warning, and VFR is accepted.
    with open_source(source, fps=DEFAULT_FOLDER_FPS, assume_constant_rate=True) as reader:
        for frame in reader:
            current = to_model_frame(frame)
            if previous is not None:
                cuts.append(detector.is_cut(previous, current))
            previous = current
    if previous is None:
        raise InputError(f"{source}: no frames")
    return cuts


def _collect(source: Path, starts: list[int], shape: tuple[int, int]) -> dict[int, np.ndarray]:
    """Pass 2: the frames of the chosen windows, fitted to ``shape``."""
    wanted = {s + k for s in starts for k in range(WINDOW)}
    frames = {}
    with open_source(source, fps=DEFAULT_FOLDER_FPS, assume_constant_rate=True) as reader:
        for index, frame in enumerate(reader):
            if index in wanted:
                frames[index] = fit_to_shape(frame, shape)
    return frames


def load_calibration_windows(
    source: str | os.PathLike[str],
    count: int | None,
    *,
    shape: tuple[int, int],
    seed: int = 0,
    detector: SceneCutDetector | None = None,
    held_out: int = 4,
) -> CalibrationData:
    """``count`` calibration and ``held_out`` gate windows from a video file or frame folder.

    ``count`` None: ``DEFAULT_CALIB_WINDOWS``, or as many as a short clip gives beside the
    held-out ones, down to ``MIN_AUTO_CALIB_WINDOWS`` (the project's 18-frame demo clip
    then calibrates on 11 windows instead of failing). An explicit count is met or refused.

    Raises InputError for sources that cannot be decoded, hold too few usable windows, or
    have frames smaller than ``shape``; UserError for a bad ``shape`` or counts.
    """
    if (count is not None and count < 1) or held_out < 0:
        raise UserError(f"need count >= 1 and held_out >= 0 windows, got {count} and {held_out}")
    if len(shape) != 2 or any(s < SIZE_MULTIPLE or s % SIZE_MULTIPLE for s in shape):
        raise UserError(f"build shape must be (H, W), positive multiples of {SIZE_MULTIPLE}, got {shape}")
    source = Path(source)
    with open_source(source, fps=DEFAULT_FOLDER_FPS, assume_constant_rate=True) as reader:
        resize_target(reader.height, reader.width, shape)  # refuse small frames before decoding
    cuts = _scan(source, detector or SceneCutDetector())
    starts = usable_starts(cuts)
    if count is None:
        count = max(min(DEFAULT_CALIB_WINDOWS, len(starts) - held_out), MIN_AUTO_CALIB_WINDOWS)
    total = count + held_out
    if len(starts) < total:
        raise InputError(
            f"{source}: {len(cuts) + 1} frames with {sum(cuts)} scene cut(s) give {len(starts)} usable "
            f"four-frame windows; {count} calibration + {held_out} held-out windows were asked for"
        )
    chosen = draw_spread(starts, total, np.random.default_rng(seed))
    gate = held_out_strata(total, held_out)
    calib_starts = [s for i, s in enumerate(chosen) if i not in gate]
    gate_starts = [s for i, s in enumerate(chosen) if i in gate]
    frames = _collect(source, chosen, shape)

    def stack(window_starts: list[int]) -> np.ndarray:
        windows = [np.stack([frames[s + k] for k in range(WINDOW)]) for s in window_starts]
        return np.stack(windows) if windows else np.zeros((0, WINDOW, 3, *shape), np.float32)

    return CalibrationData(
        calib=stack(calib_starts),
        held_out=stack(gate_starts),
        source=str(source),
        frames=len(cuts) + 1,
        calib_starts=tuple(calib_starts),
        held_out_starts=tuple(gate_starts),
        cuts=tuple(i for i, cut in enumerate(cuts) if cut),
    )
