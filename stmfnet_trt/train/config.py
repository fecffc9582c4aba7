"""Training settings: the spec's recipe as defaults, a JSON file and the CLI as overrides.

Defaults follow the official distillation (spec §9): Adamax (lr 1e-3, betas 0.9/0.999, eps
1e-8, no weight decay), batch 2, 256x256 crops, StepLR x0.5 every 20 epochs, 70 epochs,
alpha 0.1. Samples are drawn with replacement (``data.py``), so an "epoch" here is a fixed
number of steps, ``steps_per_epoch``; it is also the unit of validation and checkpoints.
A CPU run shrinks the crop and the epoch and sets ``steps`` directly
(``scripts/train_demo.sh``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.train import PRECISIONS
from stmfnet_trt.train.losses import DEFAULT_ALPHA, SIZE_DIVISOR

# The network reflect-pads to multiples of 128 and needs sides >= 65 for that (spec §3); the
# smallest multiple of the pyramid's 16 above it is 80. 128 costs the same and pads nothing.
MIN_CROP = 80


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's numbers; saved as ``config.json`` in the run folder."""

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    batch_size: int = 2
    crop: int = 256
    epochs: int = 70
    steps_per_epoch: int = 1000
    steps: int | None = None  # total optimiser steps; None: epochs * steps_per_epoch
    lr_step_epochs: int = 20
    lr_gamma: float = 0.5
    warmup_steps: int = 0  # linear ramp of the rate from lr/warmup_steps; for --init fine-tuning
    alpha: float = DEFAULT_ALPHA
    seed: int = 0
    synthetic_fraction: float = 0.5
    photometric: float = 0.0  # probability of a random gain with clipping per window (data.py)
    max_side: int | None = None  # box-downscale clips and photos to this longer side
    holdout: float = 0.15
    val_every: int | None = None  # steps; None: once per epoch
    val_windows: int = 16
    checkpoint_every: int | None = None  # steps; None: once per epoch
    threads: int | None = None
    workers: int = 0  # processes making batches ahead (prefetch.py); 0: made between steps
    precision: str = "fp32"  # "bf16": the training forward under bfloat16 autocast (trainer.py)

    def __post_init__(self) -> None:
        if self.crop % SIZE_DIVISOR or self.crop < MIN_CROP:
            raise UserError(
                f"crop must be a multiple of {SIZE_DIVISOR} and at least {MIN_CROP}, got {self.crop}"
            )
        for name in ("batch_size", "epochs", "steps_per_epoch", "lr_step_epochs", "val_windows"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("workers", "warmup_steps"):
            if getattr(self, name) < 0:
                raise UserError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.synthetic_fraction <= 1.0 or not 0.0 < self.holdout < 1.0:
            raise UserError("synthetic_fraction must lie in [0, 1] and holdout in (0, 1)")
        if self.precision not in PRECISIONS:
            raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not 0.0 <= self.photometric <= 1.0:
            raise UserError(f"photometric must lie in [0, 1], got {self.photometric}")

    @property
    def total_steps(self) -> int:
        return self.steps if self.steps is not None else self.epochs * self.steps_per_epoch

    def lr_factor(self, step: int) -> float:
        """The rate of optimiser step ``step + 1`` as a multiple of ``lr``: the spec's StepLR
        (x ``lr_gamma`` every ``lr_step_epochs`` epochs), ramped up linearly over the first
        ``warmup_steps``. Adamax's first steps move every weight by about ``lr`` whatever its
        gradient (its update is m / max|g|), which on trained weights (``--init``) undoes them:
        measured on the demo weights, 5 steps at 1e-3 took held-out PSNR from 37 to 10 dB, at
        1e-4 to 35 dB. The ramp lets the gradient statistics build up first."""
        decay = self.lr_gamma ** (step // (self.lr_step_epochs * self.steps_per_epoch))
        ramp = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        return ramp * decay

    @property
    def validation_interval(self) -> int:
        return self.val_every or self.steps_per_epoch

    @property
    def checkpoint_interval(self) -> int:
        return self.checkpoint_every or self.steps_per_epoch

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a JSON object, naming unknown keys instead of ignoring a typo."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(
                f"unknown training setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        if "betas" in values:
            values = {**values, "betas": tuple(values["betas"])}
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON or bad UTF-8
            raise UserError(f"cannot read training config {path}: {exc}") from exc
        if not isinstance(values, dict):
            raise UserError(f"{path}: a training config is a JSON object")
        return cls.from_json(values)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with the non-None ``changes`` applied (CLI flags that were given)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
