"""Checkpoint formats and strict loading with one error that names every problem."""

from __future__ import annotations

import pytest
import torch

from stmfnet_trt.core.errors import CheckpointError
from stmfnet_trt.model import load_model, save_checkpoint


@pytest.fixture(scope="module")
def official_state(data_dir):
    return torch.load(data_dir / "student_random_init.pth", map_location="cpu", weights_only=True)[
        "state_dict"
    ]


def _same_weights(model_a, model_b) -> bool:
    return all(
        torch.equal(a, b)
        for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values(), strict=True)
    )


def test_bare_and_dataparallel_state_dicts_load(tmp_path, data_dir, official_state):
    reference = load_model(data_dir / "student_random_init.pth")
    torch.save(official_state, tmp_path / "bare.pth")
    torch.save({"module." + k: v for k, v in official_state.items()}, tmp_path / "dp.pth")
    assert _same_weights(reference, load_model(tmp_path / "bare.pth"))
    assert _same_weights(reference, load_model(tmp_path / "dp.pth"))


def test_wrong_keys_are_all_named(tmp_path, official_state):
    state = dict(official_state)
    del state["gauss_kernel"]
    state["extra.weight"] = torch.zeros(1)
    state["upsampler.filter"] = torch.zeros(3, 1, 1, 7)
    torch.save({"state_dict": state}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as info:
        load_model(tmp_path / "bad.pth")
    message = str(info.value)
    assert "1 missing: gauss_kernel" in message
    assert "1 unexpected: extra.weight" in message
    assert "upsampler.filter (3, 1, 1, 7) != (3, 1, 1, 8)" in message


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all"])
def test_unreadable_files_raise_checkpoint_error(tmp_path, content):
    path = tmp_path / "broken.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_model(path)


def test_missing_file_and_non_state_dict(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "nope.pth")
    torch.save({"state_dict": [1, 2, 3]}, tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="expected a state dict"):
        load_model(tmp_path / "list.pth")


def test_random_weights_are_never_a_silent_fallback():
    with pytest.raises(CheckpointError, match="either a checkpoint path or a random-init seed"):
        load_model()


def test_fp16_round_trip_keeps_the_published_layout(tmp_path, data_dir):
    model = load_model(data_dir / "student_random_init.pth")
    save_checkpoint(tmp_path / "half.pth", model, epoch=3, half=True)
    blob = torch.load(tmp_path / "half.pth", weights_only=True)
    assert blob["epoch"] == 3 and blob["state_dict"]["gauss_kernel"].dtype == torch.float16
    assert list(blob["state_dict"]) == list(model.state_dict())
    loaded = load_model(tmp_path / "half.pth")
    worst = max(
        float((a.float() - b.float()).abs().max())
        for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True)
    )
    assert 0 < worst < 1e-2 and loaded.gauss_kernel.dtype == torch.float32
    assert not list(tmp_path.glob(".*partial"))
