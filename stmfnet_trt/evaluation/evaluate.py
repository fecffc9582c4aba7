"""Drop every other frame of real clips, interpolate them back, and score each method.

For a clip of T frames the odd frames t = 3, 5, …, T-4 are predicted from the even frames
t-3, t-1, t+1, t+3, the model's own setting (spec §9: frames t, t+2, t+4, t+6 in, t+3 out).
Every method is scored on the same frames:

* ``model``: the given backend (torch, onnxruntime, TensorRT…);
* ``blend``: the average of frames t-1 and t+1 (``BlendBackend``);
* ``repeat``: frame t-1 shown again (what a player does without interpolation);
* ``minterpolate``: FFmpeg's motion-compensated interpolation of the even frames, when the
  ``ffmpeg`` binary is installed (a note says so otherwise).

Windows whose seven frames hold a scene cut (``runtime.scene``) are skipped for every method
and counted: no method can interpolate across a cut, and ``run`` copies frames there anyway.
PSNR and SSIM are measured on 8-bit frames (``metrics.py``); a clip's figure is the mean over
its frames, and ``overall`` the mean over all frames of all clips.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.core.frames import to_model_frame, to_video_frame
from stmfnet_trt.evaluation.metrics import psnr, ssim
from stmfnet_trt.evaluation.minterpolate import find_ffmpeg, minterpolate_midpoints
from stmfnet_trt.evaluation.pictures import write_comparison
from stmfnet_trt.evaluation.windows import INPUTS, TARGET, WINDOW, bad_pairs, clean_starts
from stmfnet_trt.io import open_source
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.blend import BlendBackend
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector

MODEL = "model"
BLEND = "blend"
REPEAT = "repeat"
MINTERPOLATE = "minterpolate"
PICTURE_METHODS = (BLEND, MINTERPOLATE, MODEL)


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate and how; the defaults are ``stmfnet-trt eval``'s."""

    max_frames: int | None = None
    crop: tuple[int, int] | None = None  # centre crop (height, width) before anything else
    batch_size: int = 1
    scene_detector: SceneCutDetector = field(default_factory=SceneCutDetector)
    minterpolate: bool = True
    pictures: Path | None = None
    progress: bool = True


@dataclass(frozen=True)
class FrameScore:
    """Scores of every method on one predicted frame (index ``frame`` in the clip)."""

    frame: int
    psnr: dict[str, float]
    ssim: dict[str, float]


@dataclass
class ClipReport:
    """One clip: its size, which frames were scored or skipped, per-frame and mean scores."""

    name: str
    path: str
    width: int
    height: int
    frame_count: int
    skipped_scene_cuts: int
    scores: list[FrameScore]
    pictures: list[dict] = field(default_factory=list)

    def mean(self, metric: str, method: str) -> float:
        return float(np.mean([getattr(score, metric)[method] for score in self.scores]))


@dataclass
class EvalReport:
    """All clips, the methods scored, the model's backend name and notes (e.g. no ffmpeg)."""

    backend: str
    methods: list[str]
    clips: list[ClipReport]
    notes: list[str]

    def overall(self, metric: str, method: str) -> float:
        scores = [getattr(s, metric)[method] for clip in self.clips for s in clip.scores]
        return float(np.mean(scores)) if scores else math.nan

    def to_json(self) -> dict:
        """Plain JSON data; an infinite PSNR (a perfect frame) is written as the string "inf"."""

        def number(value: float) -> float | str:
            return value if math.isfinite(value) else str(value)

        def means(source) -> dict:
            return {
                method: {metric: number(source(metric, method)) for metric in ("psnr", "ssim")}
                for method in self.methods
            }

        return {
            "backend": self.backend,
            "methods": self.methods,
            "notes": self.notes,
            "overall": means(self.overall),
            "clips": [
                {
                    "name": clip.name,
                    "path": clip.path,
                    "size": [clip.width, clip.height],
                    "frames": clip.frame_count,
                    "scored_frames": len(clip.scores),
                    "skipped_scene_cuts": clip.skipped_scene_cuts,
                    "mean": means(clip.mean),
                    "per_frame": [
                        {
                            "frame": s.frame,
                            "psnr": {k: number(v) for k, v in s.psnr.items()},
                            "ssim": s.ssim,
                        }
                        for s in clip.scores
                    ],
                    "pictures": clip.pictures,
                }
                for clip in self.clips
            ],
        }

    def table(self) -> str:
        """PSNR (dB) / SSIM per clip and overall, one column per method."""
        rows = [(clip.name, clip.mean) for clip in self.clips] + [("overall", self.overall)]
        name_width = max(len(name) for name, _ in rows)
        header = f"{'clip':<{name_width}}  " + "  ".join(f"{m:>16}" for m in self.methods)
        lines = [header, "-" * len(header)]
        for name, source in rows:
            cells = [f"{source('psnr', m):7.2f} / {source('ssim', m):.4f}" for m in self.methods]
            lines.append(f"{name:<{name_width}}  " + "  ".join(f"{c:>16}" for c in cells))
        lines.append(f"(PSNR dB / SSIM; model = {self.backend} backend)")
        return "\n".join(lines + [f"note: {note}" for note in self.notes])


def read_clip(path: Path, options: EvalOptions) -> np.ndarray:
    """All frames (T, H, W, 3) uint8 of a clip, cut to ``max_frames`` and centre-cropped."""
    # The rate is irrelevant here: 1 avoids the folder warning, and a VFR clip is scored as is.
    with open_source(path, fps=1, assume_constant_rate=True) as source:
        frames = np.stack(list(itertools.islice(source, options.max_frames)))
    if options.crop is not None:
        height, width = frames.shape[1:3]
        crop_h, crop_w = options.crop
        if crop_h > height or crop_w > width:
            raise InputError(f"{path}: crop {crop_h}x{crop_w} is larger than the frames ({height}x{width})")
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
        frames = frames[:, top : top + crop_h, left : left + crop_w]
    return frames


def scored_targets(frames: np.ndarray, detector: SceneCutDetector) -> tuple[list[int], int]:
    """Odd frames with three kept frames on each side and no scene cut in between; and the skips."""
    starts = range(0, len(frames) - WINDOW + 1, 2)  # odd targets: even start frames
    clean = clean_starts(bad_pairs(frames, detector), starts)
    return [s + TARGET for s in clean], len(starts) - len(clean)


def _backend_predictions(
    backend: Backend, frames: np.ndarray, targets: Sequence[int], batch_size: int, bar: tqdm
) -> list[np.ndarray]:
    predictions = []
    for first in range(0, len(targets), batch_size):
        chunk = targets[first : first + batch_size]
        windows = np.stack(
            [np.stack([to_model_frame(frames[t - TARGET + i]) for i in INPUTS]) for t in chunk]
        )
        predictions.extend(to_video_frame(out) for out in backend.interpolate(windows))
        bar.update(len(chunk))
    return predictions


def evaluate_clip(path: Path, backend: Backend, options: EvalOptions, ffmpeg: str | None) -> ClipReport:
    """Score every method on one clip (module docstring); write pictures if asked."""
    frames = read_clip(path, options)
    targets, skipped = scored_targets(frames, options.scene_detector)
    name = path.stem if path.is_file() else path.name
    report = ClipReport(name, str(path), frames.shape[2], frames.shape[1], len(frames), skipped, [])
    if not targets:
        return report
    with tqdm(total=2 * len(targets), unit="frame", desc=name, disable=not options.progress) as bar:
        predicted = {
            MODEL: _backend_predictions(backend, frames, targets, options.batch_size, bar),
            BLEND: _backend_predictions(BlendBackend(), frames, targets, options.batch_size, bar),
            REPEAT: [frames[t - 1] for t in targets],
        }
    if ffmpeg is not None:
        midpoints = minterpolate_midpoints(frames[::2], ffmpeg)
        predicted[MINTERPOLATE] = [midpoints[(t - 1) // 2] for t in targets]
    for i, t in enumerate(targets):
        report.scores.append(
            FrameScore(
                frame=t,
                psnr={method: psnr(p[i], frames[t]) for method, p in predicted.items()},
                ssim={method: ssim(p[i], frames[t]) for method, p in predicted.items()},
            )
        )
    if options.pictures is not None:
        order = sorted(range(len(targets)), key=lambda i: report.scores[i].psnr[MODEL])
        for label, i in (("worst", order[0]), ("median", order[len(order) // 2])):
            t = targets[i]
            picture = options.pictures / f"{name}_{label}_frame{t:05d}.png"
            shown = {m: predicted[m][i] for m in PICTURE_METHODS if m in predicted}
            panels = write_comparison(picture, frames[t], shown, MODEL)
            report.pictures.append({"kind": label, "frame": t, "file": str(picture), "panels": panels})
    return report


def evaluate(
    sources: Sequence[str | Path], backend: Backend, options: EvalOptions = EvalOptions()
) -> EvalReport:
    """Evaluate ``backend`` and the baselines on every clip in ``sources``."""
    ffmpeg = find_ffmpeg() if options.minterpolate else None
    notes = []
    if options.minterpolate and ffmpeg is None:
        notes.append("ffmpeg not found: minterpolate skipped (install Debian's ffmpeg package)")
    clips = [evaluate_clip(Path(source), backend, options, ffmpeg) for source in sources]
    for clip in clips:
        if not clip.scores:
            notes.append(f"{clip.name}: no frame to score ({clip.frame_count} frames, need 7 without a cut)")
    methods = [MODEL, BLEND, REPEAT] + ([MINTERPOLATE] if ffmpeg else [])
    return EvalReport(backend.name, methods, [clip for clip in clips if clip.scores], notes)
