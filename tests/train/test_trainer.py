"""The trainer: a real step lowers the loss, resume repeats an uninterrupted run, the CLI, checkpoints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch
from synthetic_media import smooth_photo, write_frames

from stmfnet_trt.cli.train import add_train_parser
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.model.checkpoint import load_model
from stmfnet_trt.model.network import STMFNetMini
from stmfnet_trt.train.config import TrainConfig
from stmfnet_trt.train.data import DataOptions, RepeatedBatch, TrainingData, validation_windows
from stmfnet_trt.train.job import resolve_config
from stmfnet_trt.train.losses import laplacian_loss
from stmfnet_trt.train.trainer import LAST_CHECKPOINT, LOG_FILE, Trainer


@pytest.fixture(autouse=True)
def _fast_cpu_settings():
    """Flush denormals as ``run_training`` does (random weights make them: ~10x slower on a CPU)
    and use one thread: two spinning OpenMP threads slow down 5-10x whenever another process
    takes a core, one thread does not. Restored afterwards for the other tests."""
    threads = torch.get_num_threads()
    torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    yield
    torch.set_flush_denormal(False)
    torch.set_num_threads(threads)


def test_one_step_of_the_real_model_lowers_the_loss_on_a_fixed_batch(tmp_path):
    torch.manual_seed(0)
    photos = [smooth_photo(200, 240)]
    batch = TrainingData([], photos, DataOptions(crop=128), seed=0).batch(0, 1)
    trainer = Trainer(
        STMFNetMini(), RepeatedBatch(batch), TrainConfig(crop=128, batch_size=1), tmp_path, progress=False
    )
    before = trainer.train_step()
    with torch.no_grad():
        after = laplacian_loss(trainer.model(*batch.inputs.unbind(dim=1)), batch.target).item()
    assert after < before
    assert trainer.step == 1


def test_a_bf16_step_computes_nearly_the_float32_loss_and_still_lowers_it(tiny_model_class, tmp_path):
    """The autocast mechanics on the stand-in (the real network's CPU bfloat16 step takes a minute)."""
    batch = TrainingData([], [smooth_photo(200, 240)], DataOptions(crop=80), seed=0).batch(0, 2)
    torch.manual_seed(0)
    initial = tiny_model_class().state_dict()
    losses = {}
    for precision in ("fp32", "bf16"):
        model = tiny_model_class()
        model.load_state_dict(initial)
        config = TrainConfig(crop=80, batch_size=2, precision=precision)
        trainer = Trainer(model, RepeatedBatch(batch), config, tmp_path / precision, progress=False)
        losses[precision] = trainer.train_step()
    second = trainer.train_step()
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.02)
    assert losses["bf16"] != losses["fp32"]  # the autocast did run in bfloat16
    assert second < losses["bf16"]
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())


def test_an_unknown_precision_is_refused():
    with pytest.raises(UserError, match="precision must be one of fp32, bf16"):
        TrainConfig(precision="fp16")


def test_the_rate_ramps_up_over_the_warmup_then_follows_the_step_decay():
    config = TrainConfig(steps_per_epoch=2, lr_step_epochs=1, warmup_steps=4)
    assert [config.lr_factor(step) for step in range(6)] == [0.25, 0.5, 0.375, 0.5, 0.25, 0.25]
    assert [TrainConfig(steps_per_epoch=2, lr_step_epochs=1).lr_factor(s) for s in (0, 1, 2)] == [1, 1, 0.5]


def tiny_trainer(
    tiny_model_class, run_dir: Path, steps: int, resume: bool, workers: int = 0, warmup_steps: int = 0
) -> Trainer:
    config = TrainConfig(
        crop=80,
        steps=steps,
        steps_per_epoch=2,
        lr_step_epochs=1,
        warmup_steps=warmup_steps,
        val_windows=2,
        checkpoint_every=100,
        workers=workers,
    )
    photos = [smooth_photo(160, 200, seed) for seed in range(2)]
    torch.manual_seed(0)
    trainer = Trainer(
        tiny_model_class(),
        TrainingData([], photos, DataOptions(crop=80), seed=config.seed),
        config,
        run_dir,
        validation=validation_windows([], photos, config.val_windows, config.crop, config.seed),
        progress=False,
    )
    trainer.start(resume)
    return trainer


def logged_losses(run_dir: Path) -> list[float]:
    entries = [json.loads(line) for line in (run_dir / LOG_FILE).read_text().splitlines()]
    return [entry["loss"] for entry in entries if "loss" in entry]


def logged_rates(run_dir: Path) -> list[float]:
    entries = [json.loads(line) for line in (run_dir / LOG_FILE).read_text().splitlines()]
    return [entry["lr"] for entry in entries if "lr" in entry]


def test_resume_repeats_the_uninterrupted_run(tiny_model_class, tmp_path):
    """Interrupted in the middle of the warmup, so the resumed rate schedule is checked too."""
    interrupted, straight = tmp_path / "interrupted", tmp_path / "straight"
    first = tiny_trainer(tiny_model_class, interrupted, steps=3, resume=False, warmup_steps=4).train()
    resumed_trainer = tiny_trainer(tiny_model_class, interrupted, steps=6, resume=True, warmup_steps=4)
    assert resumed_trainer.step == 3
    second = resumed_trainer.train()
    reference_trainer = tiny_trainer(tiny_model_class, straight, steps=6, resume=False, warmup_steps=4)
    reference = reference_trainer.train()
    expected_rates = [1e-3 * f for f in (0.25, 0.5, 0.375, 0.5, 0.25, 0.25)]
    assert logged_rates(interrupted) == pytest.approx(expected_rates)
    assert logged_rates(straight) == pytest.approx(expected_rates)

    assert (first.start_step, second.start_step, second.end_step) == (0, 3, 6)
    torch.testing.assert_close(torch.tensor(first.losses + second.losses), torch.tensor(reference.losses))
    assert logged_losses(interrupted) == pytest.approx(logged_losses(straight), rel=1e-6)
    assert len(set(reference.losses)) == 6  # the batches really differ from step to step
    for key, value in reference_trainer.model.state_dict().items():
        torch.testing.assert_close(resumed_trainer.model.state_dict()[key], value, msg=key)
    # The rate halves every 2 steps: 1e-3 -> 1.25e-4 after 6 steps, in both runs.
    assert resumed_trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1.25e-4)
    assert second.validations[-1] == pytest.approx(reference.validations[-1])


def test_worker_processes_make_the_same_batches_as_the_trainer_alone(tiny_model_class, tmp_path):
    alone = tiny_trainer(tiny_model_class, tmp_path / "alone", steps=4, resume=False).train()
    helped = tiny_trainer(tiny_model_class, tmp_path / "helped", steps=4, resume=False, workers=2).train()
    torch.testing.assert_close(torch.tensor(helped.losses), torch.tensor(alone.losses))
    assert len(set(alone.losses)) == 4


def test_time_limit_stops_with_a_checkpoint_that_resumes(tiny_model_class, tmp_path):
    stopped = tiny_trainer(tiny_model_class, tmp_path, steps=6, resume=False).train(time_limit_s=1e-9)
    assert stopped.stopped_by_time_limit and (stopped.start_step, stopped.end_step) == (0, 1)
    assert torch.load(tmp_path / LAST_CHECKPOINT, weights_only=True)["step"] == 1  # not at an interval
    rest = tiny_trainer(tiny_model_class, tmp_path, steps=6, resume=True).train(time_limit_s=3600)
    assert not rest.stopped_by_time_limit and (rest.start_step, rest.end_step) == (1, 6)


def test_checkpoint_holds_the_published_layout_and_the_resume_state(tiny_model_class, tmp_path):
    tiny_trainer(tiny_model_class, tmp_path, steps=2, resume=False).train()
    blob = torch.load(tmp_path / LAST_CHECKPOINT, weights_only=True)
    assert {"epoch", "state_dict", "optimizer", "scheduler", "step", "rng", "best_psnr"} <= set(blob)
    assert (blob["epoch"], blob["step"]) == (1, 2)
    assert not list(tmp_path.glob(".*partial*"))  # written atomically, nothing left behind
    with pytest.raises(UserError, match="already holds a run"):
        tiny_trainer(tiny_model_class, tmp_path, steps=4, resume=False)


def test_resume_refuses_to_change_the_recipe(tmp_path):
    (tmp_path / LAST_CHECKPOINT).write_bytes(b"")
    (tmp_path / "config.json").write_text(json.dumps(TrainConfig(crop=128, steps=10).to_json()))
    assert resolve_config(tmp_path, True, None, {"steps": 20, "crop": None}).steps == 20
    with pytest.raises(UserError, match="cannot change crop"):
        resolve_config(tmp_path, True, None, {"crop": 256})


def test_train_command_trains_validates_and_writes_loadable_weights(tmp_path, capsys):
    photos = write_frames(tmp_path / "photos", [smooth_photo(200, 240, seed) for seed in range(2)])
    config = tmp_path / "cpu.json"
    config.write_text(json.dumps({"steps_per_epoch": 1, "val_windows": 1, "batch_size": 1}))
    run = tmp_path / "run"
    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers())
    base = ["train", "--photos", str(photos), "--out", str(run), "-q"]
    args = parser.parse_args([*base, "--config", str(config), "--steps", "1", "--crop", "128"])
    args.handler(args)
    assert "trained steps 1-1 of 1" in capsys.readouterr().out
    entries = [json.loads(line) for line in (run / LOG_FILE).read_text().splitlines()]
    assert entries[0]["step"] == 1 and entries[0]["loss"] > 0 and entries[1]["val_psnr"] > 5
    model = load_model(run / LAST_CHECKPOINT)  # strict load of the published layout
    assert isinstance(model, STMFNetMini)
    assert load_model(run / "best.pth") is not None
    again = parser.parse_args([*base, "--resume"])
    with pytest.raises(UserError, match="already run 1 of 1 steps"):
        again.handler(again)
    timed = parser.parse_args([*base, "--resume", "--steps", "3", "--workers", "1", "--max-minutes", "1e-9"])
    timed.handler(timed)
    assert "stopped at the 1e-09-minute limit after step 2: --resume goes on" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["workers"] == 0  # the saved recipe
