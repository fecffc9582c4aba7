"""bench/train_step.py: the RESULTS section from a saved record, and a real (tiny) CPU timing run."""

from __future__ import annotations

import json

import pytest
from bench_scripts import bench_script


@pytest.fixture(scope="module")
def train_step():
    with bench_script("train_step") as module:
        yield module


def test_the_section_shows_each_precision_against_fp32_and_the_pick(train_step):
    record = {
        "device": "Some GPU",
        "torch": "2.x",
        "batch_size": 8,
        "crop": 256,
        "median_step_s": {"fp32": 0.4, "bf16": 0.25},
        "pick": "bf16",
    }
    text = train_step.markdown(record)
    assert "Some GPU" in text and "batch 8 x 256x256" in text and "**bf16**" in text
    assert "| fp32 | 0.400 | 1.00x |" in text
    assert "| bf16 | 0.250 | 1.60x |" in text


def test_the_random_batch_has_four_inputs_and_the_middle_frame_as_target(train_step):
    batch = train_step.random_batch(batch_size=2, crop=80)
    assert tuple(batch.inputs.shape) == (2, 4, 3, 80, 80) and tuple(batch.target.shape) == (2, 3, 80, 80)
    assert batch.teacher is None and not batch.has_teacher.any()
    assert float(batch.target.std()) > 0.2  # uniform noise, not zeros


def test_bf16_is_picked_only_when_it_is_fast_enough(train_step, tmp_path, monkeypatch):
    times = {"fp32": [1.0], "bf16": [0.8]}
    monkeypatch.setattr(train_step, "time_steps", lambda precision, *args: times[precision])
    out = tmp_path / "step.json"
    train_step.main(["--device", "cpu", "--out", str(out), "--min-speedup", "1.3"])
    assert json.loads(out.read_text())["pick"] == "fp32"  # 1.25x
    train_step.main(["--device", "cpu", "--out", str(out), "--min-speedup", "1.2"])
    record = json.loads(out.read_text())
    assert record["pick"] == "bf16" and record["bf16_speedup"] == pytest.approx(1.25)
