"""``stmfnet-trt train`` as a function: paths and settings in, a trained run folder out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from stmfnet_trt.core.errors import Param, ParameterError, UserError
from stmfnet_trt.model.checkpoint import load_model
from stmfnet_trt.model.network import STMFNetMini
from stmfnet_trt.runtime.backends.torch_backend import resolve_device
from stmfnet_trt.train.config import TrainConfig
from stmfnet_trt.train.data import DataOptions, TrainingData, validation_windows
from stmfnet_trt.train.sources import discover_sources, load_clip, load_photo
from stmfnet_trt.train.trainer import (
    CONFIG_FILE,
    LAST_CHECKPOINT,
    RESUME_OVERRIDABLE,
    Teacher,
    Trainer,
    TrainResult,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSources:
    """Where the material comes from (the CLI's ``--data``, ``--photos``, ``--teacher-dir``)."""

    data: Sequence[Path] = ()
    photos: Sequence[Path] = ()
    teacher_dir: Path | None = None


def resolve_config(
    run_dir: Path, resume: bool, config_file: Path | None, overrides: dict[str, Any]
) -> TrainConfig:
    """The run's settings: defaults < ``config_file`` < ``overrides`` (the None ones ignored).

    On resume the saved ``config.json`` is the base, and only ``RESUME_OVERRIDABLE`` settings may
    change: a different crop, learning rate or seed would make the continuation another run.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if not (resume and (run_dir / LAST_CHECKPOINT).is_file()):
        return (TrainConfig.load(config_file) if config_file else TrainConfig()).replace(**given)
    if config_file is not None:
        raise ParameterError("resume", f"continues with {run_dir / CONFIG_FILE}: drop ", Param("config_file"))
    saved = TrainConfig.load(run_dir / CONFIG_FILE)
    changed = sorted(k for k, v in given.items() if k not in RESUME_OVERRIDABLE and getattr(saved, k) != v)
    if changed:
        raise ParameterError("resume", f"keeps the run's settings; cannot change {', '.join(changed)}")
    return saved.replace(**given)


def build_data(sources: TrainSources, config: TrainConfig) -> tuple[TrainingData, list[torch.Tensor]]:
    """Load clips and photos, report what will be used, and build batches and validation windows."""
    found = discover_sources(sources.data, sources.photos)
    clips = [load_clip(path, max_side=config.max_side, holdout=config.holdout) for path in found.clips]
    photos = [load_photo(path, config.max_side) for path in found.photos]
    for clip in clips:
        if min(clip.frames.shape[1:3]) < config.crop:
            log.warning(
                "%s: frames smaller than the %d px crop; not used for training", clip.name, config.crop
            )
        log.info(
            "%s: %d frames %dx%d, %d training / %d held-out windows, %d skipped (scene cut or repeat)",
            clip.name,
            len(clip.frames),
            clip.frames.shape[2],
            clip.frames.shape[1],
            len(clip.train_starts),
            len(clip.val_starts),
            clip.skipped_windows,
        )
    options = DataOptions(
        crop=config.crop, synthetic_fraction=config.synthetic_fraction, photometric=config.photometric
    )
    data = TrainingData(clips, photos, options, config.seed, sources.teacher_dir)
    validation = validation_windows(clips, photos, config.val_windows, config.crop, config.seed)
    if not any(clip.val_starts for clip in clips):
        log.warning("no held-out clip windows: validating on synthetic windows of the training photos")
    return data, validation


def run_training(
    sources: TrainSources,
    run_dir: Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    init_checkpoint: Path | None = None,
    teacher: Teacher | None = None,
    progress: bool = True,
    device: str = "auto",
    time_limit_s: float | None = None,
) -> TrainResult:
    """Train ST-MFNet Mini into ``run_dir`` (see ``trainer.py`` for what it holds).

    The model starts from ``init_checkpoint`` (fine-tuning) or from random weights seeded with
    ``config.seed``, and runs on ``device`` ("auto": CUDA when torch sees a GPU). Denormal
    floats are flushed to zero: randomly initialised heads produce them, and on x86 they make
    the CPU forward pass up to 10x slower. ``time_limit_s``: see ``Trainer.train``.
    """
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    torch.set_flush_denormal(True)
    if init_checkpoint is not None:
        model = load_model(init_checkpoint)
    else:
        torch.manual_seed(config.seed)
        model = STMFNetMini()
    data, validation = build_data(sources, config)
    trainer = Trainer(
        model,
        data,
        config,
        run_dir,
        validation=validation,
        teacher=teacher,
        progress=progress,
        device=resolve_device(device),
    )
    trainer.start(resume)
    if trainer.step >= config.total_steps:
        raise UserError(
            f"{run_dir} has already run {trainer.step} of {config.total_steps} steps: raise ", Param("steps")
        )
    return trainer.train(time_limit_s)
