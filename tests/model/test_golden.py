"""The whole network against outputs of the official code (spec golden/, tolerance 1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stmfnet_trt.model import load_model
from stmfnet_trt.model.network import count_parameters

TOLERANCE = 1e-4
SPEC_PARAMETERS = 1_822_162


@pytest.fixture(scope="module")
def init_model(data_dir):
    return load_model(data_dir / "student_random_init.pth")


def _run(model, golden, prefix=""):
    with torch.inference_mode():
        return model(*(torch.from_numpy(golden[f"{prefix}I{i}"]) for i in range(4))).numpy()


def test_parameter_count_matches_the_spec(init_model):
    assert count_parameters(init_model) == SPEC_PARAMETERS


@pytest.mark.parametrize("prefix", ["", "x128_"], ids=["96x160-padded", "128x128"])
def test_random_init_golden(init_model, golden_init, prefix):
    out = _run(init_model, golden_init, prefix)
    assert out.shape == golden_init[f"{prefix}output"].shape
    assert np.abs(out - golden_init[f"{prefix}output"]).max() <= TOLERANCE


@pytest.mark.parametrize("fused_softmax", [False, True], ids=["softmax-heads", "fused-softmax-warp"])
def test_random_stats_golden(data_dir, golden_stats, fused_softmax):
    """Non-default BatchNorm/PReLU and stronger heads: catches misplaced norms and slopes."""
    model = load_model(data_dir / "student_random_stats.pth", fused_softmax=fused_softmax)
    assert np.abs(_run(model, golden_stats) - golden_stats["output"]).max() <= TOLERANCE
