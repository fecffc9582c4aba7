"""The warp oracle against the official semantics (spec §7, golden/warp_cases.npz)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from stmfnet_trt.model.warp import adaptive_warp, replicate_pad_for_warp

CASES = range(5)
GRAD_CASES = (0, 1, 4)
TOLERANCE = 1e-5


def _case(cases: dict[str, np.ndarray], n: int, name: str) -> torch.Tensor:
    return torch.from_numpy(cases[f"case{n}_{name}"])


def loop_warp(image: np.ndarray, weight: np.ndarray, off_v: np.ndarray, off_h: np.ndarray, dilation: int):
    """Per-pixel port of the kernel's arithmetic, independent of the vectorised code under test."""
    batch, channels, padded_h, padded_w = image.shape
    _, taps, height, width = weight.shape
    k_size = math.isqrt(taps)
    out = np.zeros((batch, channels, height, width), np.float64)
    for b, c, i, j, n in np.ndindex(batch, channels, height, width, taps):
        k, m = divmod(n, k_size)
        a, bb = float(off_v[b, n, i, j]), float(off_h[b, n, i, j])
        ia, ib = int(a), int(bb)  # C-style truncation
        fa, fb = a - ia, bb - ib
        r0 = min(max(i + k * dilation + ia, 0), padded_h - 1)
        r1 = min(max(i + k * dilation + ia + 1, 0), padded_h - 1)
        c0 = min(max(j + m * dilation + ib, 0), padded_w - 1)
        c1 = min(max(j + m * dilation + ib + 1, 0), padded_w - 1)
        img = image[b, c]
        s = (
            img[r0, c0] * (1 - fa) * (1 - fb)
            + img[r1, c0] * fa * (1 - fb)
            + img[r0, c1] * (1 - fa) * fb
            + img[r1, c1] * fa * fb
        )
        out[b, c, i, j] += weight[b, n, i, j] * s
    return out


@pytest.mark.parametrize("n", CASES)
def test_golden_forward(warp_cases, n):
    out = adaptive_warp(
        *(_case(warp_cases, n, k) for k in ("image_padded", "weight", "offset_v", "offset_h"))
    )
    assert np.abs(out.numpy() - warp_cases[f"case{n}_output"]).max() <= TOLERANCE


@pytest.mark.parametrize("n", GRAD_CASES)
def test_golden_gradients_flow_to_weights_and_offsets_not_image(warp_cases, n):
    image = _case(warp_cases, n, "image_padded").requires_grad_(True)
    params = [_case(warp_cases, n, k).requires_grad_(True) for k in ("weight", "offset_v", "offset_h")]
    adaptive_warp(image, *params).backward(_case(warp_cases, n, "grad_output"))
    for tensor, name in zip(params, ("grad_weight", "grad_offset_v", "grad_offset_h"), strict=True):
        assert np.abs(tensor.grad.numpy() - warp_cases[f"case{n}_{name}"]).max() <= TOLERANCE
    assert image.grad is None  # the original op hands the image no gradient


@pytest.mark.parametrize("n", CASES)
def test_fused_softmax_equals_softmax_then_warp(warp_cases, n):
    logits = torch.log(_case(warp_cases, n, "weight")) + 3.0  # a constant shift must not matter
    out = adaptive_warp(
        _case(warp_cases, n, "image_padded"),
        logits,
        _case(warp_cases, n, "offset_v"),
        _case(warp_cases, n, "offset_h"),
        softmax=True,
    )
    assert np.abs(out.numpy() - warp_cases[f"case{n}_output"]).max() <= TOLERANCE


def test_negative_fraction_extrapolates_like_the_original():
    """Spec §7.3 worked example: offset -0.3 at base row 12 blends rows 12 and 13 as 1.3/-0.3."""
    image = torch.zeros(1, 1, 20, 3)
    image[0, 0, 11, 1], image[0, 0, 12, 1], image[0, 0, 13, 1] = 0.2, 1.0, 0.4
    weight = torch.ones(1, 1, 20, 3)
    off_v = torch.zeros(1, 1, 20, 3)
    off_v[0, 0, 12, 1] = -0.3
    out = adaptive_warp(image, weight, off_v, torch.zeros_like(off_v))
    assert out[0, 0, 12, 1].item() == pytest.approx(1.18, abs=1e-6)
    off_v[0, 0, 12, 1] = -1.3  # trunc(-1.3) = -1: rows 11 and 12, still extrapolating
    out = adaptive_warp(image, weight, off_v, torch.zeros_like(off_v))
    assert out[0, 0, 12, 1].item() == pytest.approx(1.3 * 0.2 - 0.3 * 1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("off_v", "off_h", "edge"),
    [(-500.5, 0.0, (0, None)), (500.5, 0.0, (-1, None)), (0.0, -500.5, (None, 0)), (0.0, 500.5, (None, -1))],
)
def test_samples_past_every_border_clamp_to_the_edge(off_v, off_h, edge):
    rng = np.random.default_rng(3)
    frame = torch.from_numpy(rng.random((1, 2, 6, 7), dtype=np.float32))
    padded = replicate_pad_for_warp(frame)
    weight = torch.zeros(1, 25, 6, 7)
    weight[:, 12] = 1.0  # the centre tap alone
    out = adaptive_warp(padded, weight, torch.full_like(weight, off_v), torch.full_like(weight, off_h))
    row, col = edge
    if row is not None:  # every output row equals the clamped edge row of the frame
        expected = frame[:, :, row : row + 1 if row >= 0 else None, :].expand_as(out)
    else:
        expected = frame[:, :, :, col : col + 1 if col >= 0 else None].expand_as(out)
    assert torch.allclose(out, expected, rtol=0, atol=1e-6)  # 1.5x - 0.5x rounds


@pytest.mark.parametrize(("kernel_size", "dilation"), [(5, 1), (3, 2), (1, 1)])
def test_matches_a_per_pixel_loop_for_other_kernel_sizes(kernel_size, dilation):
    rng = np.random.default_rng(kernel_size * 10 + dilation)
    span = (kernel_size - 1) * dilation
    height, width = 5, 6
    image = rng.random((2, 3, height + span, width + span), dtype=np.float32)
    weight = rng.random((2, kernel_size**2, height, width), dtype=np.float32)
    off_v = (rng.standard_normal(weight.shape) * 3).astype(np.float32)
    off_h = (rng.standard_normal(weight.shape) * 3).astype(np.float32)
    off_v[:, :, 0, 0] = -40.25  # far outside: clamping
    out = adaptive_warp(*(torch.from_numpy(x) for x in (image, weight, off_v, off_h)), dilation=dilation)
    assert np.abs(out.numpy() - loop_warp(image, weight, off_v, off_h, dilation)).max() <= TOLERANCE


def test_bad_shapes_are_named():
    weight = torch.zeros(1, 25, 4, 4)
    with pytest.raises(ValueError, match=r"replicate-pad it by 2"):
        adaptive_warp(torch.zeros(1, 3, 4, 4), weight, weight, weight)
    with pytest.raises(ValueError, match="K\\*K"):
        adaptive_warp(torch.zeros(1, 3, 8, 8), torch.zeros(1, 24, 4, 4), weight, weight)
