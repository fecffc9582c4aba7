"""Export-time layer rewrites compute what the original layers compute (float32 summation order aside)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stmfnet_trt.core.frames import random_frames
from stmfnet_trt.export.rewrites import (
    TimeWindowConvTranspose3d,
    pad_grid_channels,
    prelu_as_leaky_relu,
    rewrite_for_onnx_runtime,
    time_windows,
)
from stmfnet_trt.model import load_model
from stmfnet_trt.model.gridnet import GridNet

LAYER_TOLERANCE = 1e-5


@pytest.fixture
def one_thread():
    """Two spinning OpenMP threads run ~10x slower whenever another process holds a core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_time_windows_stack_neighbours_with_zero_padding():
    frames = torch.arange(1.0, 4.0).view(1, 3, 1, 1, 1)  # three frames holding 1, 2, 3
    windows = time_windows(frames, 3).flatten().tolist()
    assert windows == [0.0, 1.0, 2.0, 1.0, 2.0, 3.0, 2.0, 3.0, 0.0]


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "output_padding", "bias"),
    [
        ((3, 4, 4), (1, 2, 2), (1, 1, 1), (0, 0, 0), True),  # the texture branch's layers
        ((3, 3, 3), (1, 2, 2), (1, 1, 1), (0, 1, 1), False),
        ((1, 2, 2), (1, 2, 2), (0, 0, 0), (0, 0, 0), True),
        ((5, 3, 5), (1, 1, 2), (2, 1, 2), (0, 0, 1), True),
    ],
)
def test_time_window_transposed_conv_equals_the_3d_layer(kernel, stride, padding, output_padding, bias):
    torch.manual_seed(0)
    layer = nn.ConvTranspose3d(6, 5, kernel, stride, padding, output_padding, bias=bias)
    x = torch.randn(2, 6, 5, 7, 9)
    with torch.no_grad():
        expected = layer(x)
        got = TimeWindowConvTranspose3d(layer)(x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() <= LAYER_TOLERANCE


@pytest.mark.parametrize(
    "layer",
    [
        nn.ConvTranspose3d(4, 4, 3, stride=2, padding=1),  # time stride 2 changes the length
        nn.ConvTranspose3d(4, 4, 3, padding=0),  # time padding 0 grows the length
        nn.ConvTranspose3d(4, 4, 3, padding=1, groups=2),
        nn.ConvTranspose3d(4, 4, 3, padding=1, dilation=2),
        nn.ConvTranspose2d(4, 4, 3),
    ],
)
def test_other_layers_are_left_alone(layer):
    assert not TimeWindowConvTranspose3d.applies_to(layer)
    if isinstance(layer, nn.ConvTranspose3d):
        with pytest.raises(ValueError, match="not a time-stride-1"):
            TimeWindowConvTranspose3d(layer)


def test_rewritten_model_matches_the_reference(data_dir, one_thread):
    reference = load_model(data_dir / "student_random_stats.pth")
    rewritten = load_model(data_dir / "student_random_stats.pth")
    # the texture decoder's three up-convolutions, GridNet's 46-channel convs and its 42 PReLUs
    assert rewrite_for_onnx_runtime(rewritten) == 3 + 15 + 42
    assert not any(isinstance(m, nn.ConvTranspose3d) for m in rewritten.modules())
    frames = torch.from_numpy(random_frames((1, 4, 3, 128, 256), seed=3)).unbind(dim=1)
    with torch.inference_mode():
        difference = (rewritten.forward_padded(*frames) - reference.forward_padded(*frames)).abs().max()
    assert difference.item() <= LAYER_TOLERANCE


def test_padded_grid_computes_the_same_with_rows_in_eights():
    torch.manual_seed(0)
    grid = GridNet()
    for parameter in grid.parameters():
        torch.nn.init.normal_(parameter, std=0.1)
    padded = GridNet()
    padded.load_state_dict(grid.state_dict())
    # every conv writing or reading the 46-channel row: lateral_2_0 3, lateral_2_1..3 2 each,
    # down_1_0/1 2 each, up_1_0/1 1 each
    assert pad_grid_channels(padded) == 15
    convs = [m for m in padded.modules() if isinstance(m, nn.Conv2d)]
    assert {c for m in convs for c in (m.in_channels, m.out_channels)} == {3, 6, 16, 32, 48}
    inputs = [torch.randn(1, 6, 16 * s, 16 * s) for s in (4, 2, 1)]  # double, full, half resolution
    with torch.no_grad():
        expected, got = grid(*inputs), padded(*inputs)
    # relative: the random grid's outputs reach ~50, where float32 summation order alone moves ~1e-5
    assert (got - expected).abs().max().item() <= LAYER_TOLERANCE * expected.abs().max().item()
    assert expected.std().item() > 0.01


def test_grid_with_per_channel_slopes_is_refused():
    grid = GridNet()
    grid.lateral_2_1.f[0] = nn.PReLU(46)
    with pytest.raises(ValueError, match="per-channel PReLU"):
        pad_grid_channels(grid)


def test_one_slope_prelus_become_leaky_relus_with_the_same_values():
    model = nn.Sequential(nn.PReLU(init=0.3), nn.PReLU(4), nn.Sequential(nn.PReLU(init=-0.7)))
    x = torch.linspace(-3, 3, 4 * 25).view(1, 4, 5, 5)
    with torch.no_grad():
        expected = model(x)
        assert prelu_as_leaky_relu(model) == 2
        got = model(x)
    assert isinstance(model[0], nn.LeakyReLU) and model[0].negative_slope == pytest.approx(0.3)
    assert isinstance(model[1], nn.PReLU)  # per-channel slopes stay
    assert isinstance(model[2][0], nn.LeakyReLU) and model[2][0].negative_slope == pytest.approx(-0.7)
    assert torch.equal(got, expected)
