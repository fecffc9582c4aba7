"""Laplacian pyramid loss and distillation combination (spec §8) on hand-computable inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stmfnet_trt.train.losses import distillation_loss, laplacian_loss, laplacian_pyramid


def numpy_pyramid(image: np.ndarray) -> list[np.ndarray]:
    """Spec §8.1 written out again with loops, for one (H, W) channel: an independent oracle."""
    taps = np.array([1, 4, 6, 4, 1], dtype=np.float64)
    kernel = np.outer(taps, taps) / 256

    def blur(x, gain=1.0):
        padded = np.pad(x, 2, mode="reflect")
        out = np.zeros_like(x)
        for dy in range(5):
            for dx in range(5):
                out += gain * kernel[dy, dx] * padded[dy : dy + x.shape[0], dx : dx + x.shape[1]]
        return out

    levels, current = [], image
    for _ in range(4):
        blurred = blur(current)
        reduced = (blurred[0::2, 0::2] + blurred[1::2, 0::2] + blurred[0::2, 1::2] + blurred[1::2, 1::2]) / 4
        upsampled = np.zeros_like(current)
        upsampled[0::2, 0::2] = reduced
        levels.append(current - blur(upsampled, gain=4))
        current = reduced
    return [*levels, current]


def test_pyramid_has_five_levels_halving_each_time():
    shapes = [tuple(level.shape) for level in laplacian_pyramid(torch.zeros(2, 3, 32, 48))]
    assert shapes == [(2, 3, 32, 48), (2, 3, 16, 24), (2, 3, 8, 12), (2, 3, 4, 6), (2, 3, 2, 3)]


def test_pyramid_refuses_sides_not_divisible_by_16():
    with pytest.raises(ValueError, match="divisible by 16"):
        laplacian_pyramid(torch.zeros(1, 3, 40, 48))


def test_constant_image_lives_only_in_the_residual():
    pyramid = laplacian_pyramid(torch.full((1, 3, 32, 32), 0.7))
    for band in pyramid[:4]:
        assert torch.allclose(band, torch.zeros_like(band), atol=1e-6)
    assert torch.allclose(pyramid[4], torch.full((1, 3, 2, 2), 0.7))


def test_constant_images_loss_is_sum_of_the_weighted_residual():
    # Only level 4 (2x2 pixels, weight 16) differs: 16 * 0.25 * (2 batch * 3 channels * 4 pixels).
    loss = laplacian_loss(torch.full((2, 3, 32, 32), 0.75), torch.full((2, 3, 32, 32), 0.5))
    assert loss.item() == pytest.approx(16 * 0.25 * 24, rel=1e-5)


def test_impulse_band_sums_and_residual_mass():
    impulse = torch.zeros(1, 1, 256, 256)  # large enough that no level's blur reaches a border
    impulse[0, 0, 128, 128] = 1.0
    pyramid = laplacian_pyramid(impulse)
    # Blurring keeps the mass of an interior impulse and each reduction divides it by 4, so every
    # band sums to zero and the residual holds 1 / 4^4.
    for band in pyramid[:4]:
        assert band.sum().item() == pytest.approx(0.0, abs=1e-6)
    assert pyramid[4].sum().item() == pytest.approx(1 / 256, rel=1e-5)
    assert bool((pyramid[4] >= 0).all())


def test_loss_matches_an_independent_implementation_of_the_spec():
    rng = np.random.default_rng(0)
    a, b = rng.random((32, 48)), rng.random((32, 48))
    impulse = np.zeros((32, 48))
    impulse[5, 7] = 1.0  # near a corner: exercises the reflect padding
    for x, y in ((a, b), (impulse, np.zeros_like(impulse))):
        expected = sum(
            2**i * np.abs(p - q).sum()
            for i, (p, q) in enumerate(zip(numpy_pyramid(x), numpy_pyramid(y), strict=True))
        )
        got = laplacian_loss(torch.tensor(x).float()[None, None], torch.tensor(y).float()[None, None])
        assert got.item() == pytest.approx(expected, rel=1e-5)


def test_loss_is_a_sum_not_a_mean():
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    single = laplacian_loss(a, b)
    assert laplacian_loss(torch.cat([a, a]), torch.cat([b, b])).item() == pytest.approx(
        2 * single.item(), rel=1e-6
    )
    per_sample = laplacian_loss(torch.cat([a, b]), torch.cat([b, b]), per_sample=True)
    assert per_sample.shape == (2,) and per_sample[1].item() == 0.0


def test_distillation_combination():
    shape = (2, 3, 32, 32)
    student, truth, teacher = torch.full(shape, 0.5), torch.full(shape, 0.25), torch.full(shape, 0.75)
    per_sample = 16 * 0.25 * 12  # one sample's Lap distance to either frame (constant images, above)
    assert distillation_loss(student, truth, teacher, alpha=0.1).item() == pytest.approx(2 * 1.1 * per_sample)
    assert distillation_loss(student, truth).item() == pytest.approx(2 * per_sample)
    # Only the first sample has a teacher frame: the other one uses the ground-truth term alone.
    mixed = distillation_loss(student, truth, teacher, torch.tensor([True, False]), alpha=0.1)
    assert mixed.item() == pytest.approx(1.1 * per_sample + per_sample)
