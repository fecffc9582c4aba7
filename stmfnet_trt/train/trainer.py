"""The training loop: spec §9's optimiser and schedule, resumable checkpoints, held-out PSNR.

A run folder holds

* ``config.json``: the ``TrainConfig`` of the run (a resume reads it back);
* ``last.pth``: the published layout ``{"epoch", "state_dict"}`` plus what a resume needs
  (``optimizer``, ``scheduler``, ``step``, ``rng``, ``best_psnr``), written atomically at every
  checkpoint interval and at the end. Any ST-MFNet Mini loader reads it as a checkpoint;
* ``best.pth``: the published layout (plus ``step`` and ``val_psnr``) of the weights with the
  best held-out PSNR so far;
* ``log.jsonl``: one JSON object per step (loss, lr, seconds) and per validation.

Resuming restores weights, batch-norm statistics, optimiser and scheduler state and the torch
RNG; batches are a pure function of (seed, step) (``data.py``), so the resumed run repeats the
uninterrupted run's losses. Log lines written after the last checkpoint are dropped on resume,
because those steps are run again.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from stmfnet_trt.core.errors import CheckpointError, Param, UserError
from stmfnet_trt.core.frames import to_video_frame
from stmfnet_trt.evaluation.metrics import psnr
from stmfnet_trt.io.atomic import atomic_output_path
from stmfnet_trt.model.checkpoint import (
    check_state_dict,
    extract_state_dict,
    load_checkpoint_file,
    save_checkpoint,
)
from stmfnet_trt.train.config import TrainConfig
from stmfnet_trt.train.data import Batch, TrainingData, split_window
from stmfnet_trt.train.losses import distillation_loss
from stmfnet_trt.train.prefetch import step_batches

# Frames (B, 4, 3, H, W) in [0, 1] -> the teacher's middle frames (B, 3, H, W).
Teacher = Callable[[torch.Tensor], torch.Tensor]

CONFIG_FILE = "config.json"
LAST_CHECKPOINT = "last.pth"
BEST_CHECKPOINT = "best.pth"
LOG_FILE = "log.jsonl"
# Settings a resume may change: how long to go on, and how many threads and workers to use.
RESUME_OVERRIDABLE = frozenset({"steps", "epochs", "threads", "workers"})


@dataclass
class TrainResult:
    """What one ``Trainer.train`` call did: the losses of its steps and its validations."""

    start_step: int
    end_step: int
    losses: list[float] = field(default_factory=list)
    validations: list[tuple[int, float]] = field(default_factory=list)
    best_psnr: float = -math.inf
    stopped_by_time_limit: bool = False


def quantised_psnr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR of one (3, H, W) prediction after clamping and rounding to 8 bits, as evaluation does."""
    return psnr(to_video_frame(prediction.numpy()), to_video_frame(target.numpy()))


class Trainer:
    """Trains ``model`` (anything called as ``model(f0, f1, f2, f3)``) on ``data``."""

    def __init__(
        self,
        model: torch.nn.Module,
        data: TrainingData,
        config: TrainConfig,
        run_dir: Path,
        *,
        validation: Sequence[torch.Tensor] = (),
        teacher: Teacher | None = None,
        progress: bool = True,
        device: str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        if self.device.type == "cuda":
            # Every training step has the crop's shapes: let cuDNN time its algorithms once.
            torch.backends.cudnn.benchmark = True
        self.model = model.to(self.device)
        self.data = data
        self.config = config
        self.run_dir = Path(run_dir)
        self.validation = list(validation)
        self.teacher = teacher
        self.progress = progress
        self.optimizer = torch.optim.Adamax(
            model.parameters(),
            lr=config.lr,
            betas=config.betas,
            eps=config.eps,
            weight_decay=config.weight_decay,
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, config.lr_factor)
        self.step = 0
        self.best_psnr = -math.inf

    # -- run folder -------------------------------------------------------------------------

    def _log(self, entry: dict) -> None:
        with open(self.run_dir / LOG_FILE, "a") as log:
            log.write(json.dumps(entry) + "\n")

    def start(self, resume: bool) -> None:
        """Create the run folder, or pick up its last checkpoint when ``resume`` is set."""
        last = self.run_dir / LAST_CHECKPOINT
        if resume and last.is_file():
            self._load(last)
            return
        if last.is_file():
            raise UserError(
                f"{self.run_dir} already holds a run: pass ",
                Param("resume", True),
                ", or choose another ",
                Param("run_dir"),
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_output_path(self.run_dir / CONFIG_FILE, overwrite=True) as temp:
            temp.write_text(json.dumps(self.config.to_json(), indent=2) + "\n")
        (self.run_dir / LOG_FILE).unlink(missing_ok=True)

    def _load(self, path: Path) -> None:
        blob = load_checkpoint_file(path)
        state = extract_state_dict(blob, source=str(path))
        check_state_dict(self.model, state, str(path))
        self.model.load_state_dict(state)
        try:
            self.optimizer.load_state_dict(blob["optimizer"])
            self.scheduler.load_state_dict(blob["scheduler"])
            torch.set_rng_state(blob["rng"]["torch"])
            self.step = int(blob["step"])
            self.best_psnr = float(blob["best_psnr"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise CheckpointError(
                f"{path} has weights but not the training state a resume needs ({type(exc).__name__}: "
                f"{exc}); start a new run from it with ",
                Param("init_checkpoint"),
                ", or use another ",
                Param("run_dir"),
            ) from exc
        log_path = self.run_dir / LOG_FILE
        lines = log_path.read_text().splitlines() if log_path.is_file() else []
        kept = [line for line in lines if json.loads(line)["step"] <= self.step]
        with atomic_output_path(log_path, overwrite=True) as temp:
            temp.write_text("".join(line + "\n" for line in kept))

    def _save(self, name: str, **extra: object) -> None:
        """The weights in the published layout, plus the step and ``extra``, written atomically."""
        save_checkpoint(
            self.run_dir / name,
            self.model,
            epoch=self.step // self.config.steps_per_epoch,
            step=self.step,
            **extra,
        )

    def _save_resume_state(self) -> None:
        self._save(
            LAST_CHECKPOINT,
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            rng={"torch": torch.get_rng_state()},
            best_psnr=self.best_psnr,
        )

    # -- steps --------------------------------------------------------------------------------

    def _forward_precision(self) -> torch.autocast:
        """The training forward's autocast: off for "fp32", bfloat16 for "bf16".

        bfloat16 keeps float32's exponent range, so unlike float16 it needs no loss scaling, and
        it runs the convolutions on tensor cores with half the activation traffic. Convolution
        outputs (the warp offsets too) are rounded to 8 mantissa bits, so validation, which picks
        ``best.pth``, always runs in float32: it measures what inference will do.
        """
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.precision == "bf16")

    def train_step(self, batch: Batch | None = None) -> float:
        """One optimiser step on ``batch``, by default the batch of ``self.step``; returns its loss."""
        if batch is None:
            batch = self.data.batch(self.step, self.config.batch_size)
        inputs, target = batch.inputs.to(self.device), batch.target.to(self.device)
        teacher = None if batch.teacher is None else batch.teacher.to(self.device)
        has_teacher = batch.has_teacher.to(self.device)
        if self.teacher is not None:
            with torch.no_grad():
                teacher, has_teacher = self.teacher(inputs), torch.ones_like(has_teacher)
        self.model.train()
        with self._forward_precision():
            output = self.model(*inputs.unbind(dim=1))
        loss = distillation_loss(output.float(), target, teacher, has_teacher, alpha=self.config.alpha)
        if not torch.isfinite(loss):
            raise RuntimeError(f"training diverged at step {self.step + 1}: loss is {loss.item()}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return loss.item()

    @torch.no_grad()
    def validate(self) -> float:
        """Mean PSNR (8-bit) of the model on the held-out windows, in eval mode."""
        self.model.eval()
        scores = []
        for window in self.validation:
            inputs, target = split_window(window)
            prediction = self.model(*inputs.unsqueeze(0).to(self.device).unbind(dim=1))[0]
            scores.append(quantised_psnr(prediction.cpu(), target))
        self.model.train()
        return float(np.mean(scores))

    def _validate_and_keep_best(self, result: TrainResult) -> None:
        score = self.validate()
        result.validations.append((self.step, score))
        self._log({"step": self.step, "val_psnr": score})
        if score > self.best_psnr:
            self.best_psnr = score
            self._save(BEST_CHECKPOINT, val_psnr=score)

    def train(self, time_limit_s: float | None = None) -> TrainResult:
        """Run from the current step to ``config.total_steps``, validating and checkpointing.

        With ``time_limit_s``, stop after the first step that ends past it and checkpoint there,
        so a lent machine or a night's slot is used to the end and a resumed run goes on from it.
        """
        config = self.config
        result = TrainResult(start_step=self.step, end_step=self.step)
        deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
        batches = step_batches(self.data, config.batch_size, self.step, config.total_steps, config.workers)
        with tqdm(total=config.total_steps, initial=self.step, unit="step", disable=not self.progress) as bar:
            for batch in batches:
                began = time.perf_counter()
                lr = self.optimizer.param_groups[0]["lr"]
                loss = self.train_step(batch)
                result.losses.append(loss)
                self._log({"step": self.step, "loss": loss, "lr": lr, "seconds": time.perf_counter() - began})
                bar.set_postfix(loss=f"{loss:.4g}", lr=f"{lr:.3g}", refresh=False)
                bar.update()
                if self.validation and self.step % config.validation_interval == 0:
                    self._validate_and_keep_best(result)
                    bar.set_postfix(loss=f"{loss:.4g}", lr=f"{lr:.3g}", best_psnr=f"{self.best_psnr:.2f}")
                out_of_time = deadline is not None and time.monotonic() >= deadline
                if (
                    out_of_time
                    or self.step % config.checkpoint_interval == 0
                    or self.step == config.total_steps
                ):
                    self._save_resume_state()
                if out_of_time and self.step < config.total_steps:
                    result.stopped_by_time_limit = True
                    break
        result.end_step = self.step
        result.best_psnr = self.best_psnr
        return result
