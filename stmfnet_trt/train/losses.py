"""Training losses of ST-MFNet Mini, as the official distillation code computes them (spec §8).

* ``laplacian_loss``: the Laplacian pyramid L1 loss ("Lap", §8.1): 5 levels, binomial 5x5 blur
  with reflect padding, 2x2 average-pool reduction, zero-insertion expansion blurred with 4x the
  kernel; level i weighted 2^i, **summed** over batch, channels and pixels (not a mean), so its
  magnitude grows with crop size and batch.
* ``distillation_loss``: ``alpha * Lap(student, gt) + Lap(student, teacher)`` (§8.2, the
  published README's command). Samples without a teacher frame fall back to ``Lap(student, gt)``
  alone, with weight 1: alpha only balances the two terms against each other, and Adamax is
  insensitive to the overall scale of the loss.

The spec's parser quirks (ignored term weights, one distillation term per student term) are not
reproduced: they only matter for loss strings other than the published one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PYRAMID_LEVELS = 5
BINOMIAL_TAPS = (1.0, 4.0, 6.0, 4.0, 1.0)
BLUR_PAD = 2
# Every reduction halves both sides, so pyramid shapes only match when sides divide by 2^4.
SIZE_DIVISOR = 2 ** (PYRAMID_LEVELS - 1)
DEFAULT_ALPHA = 0.1


def binomial_kernel(channels: int, gain: float = 1.0) -> torch.Tensor:
    """Depthwise (channels, 1, 5, 5) kernel outer([1,4,6,4,1])^2 / 256, times ``gain``."""
    taps = torch.tensor(BINOMIAL_TAPS, dtype=torch.float64)
    kernel = torch.outer(taps, taps) / taps.sum() ** 2 * gain
    return kernel.to(torch.float32).expand(channels, 1, *kernel.shape).contiguous()


def _blur(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    padded = F.pad(image, (BLUR_PAD,) * 4, mode="reflect")
    return F.conv2d(padded, kernel.to(image.dtype), groups=image.shape[1])


def _zero_insert(image: torch.Tensor) -> torch.Tensor:
    """Twice the size, values at even rows and even columns, zeros elsewhere."""
    batch, channels, height, width = image.shape
    out = image.new_zeros(batch, channels, 2 * height, 2 * width)
    out[:, :, ::2, ::2] = image
    return out


def laplacian_pyramid(image: torch.Tensor, levels: int = PYRAMID_LEVELS) -> list[torch.Tensor]:
    """Band-pass levels, finest first, then the low-pass residual (``levels`` tensors in all)."""
    height, width = image.shape[-2:]
    divisor = 2 ** (levels - 1)
    if height % divisor or width % divisor:
        raise ValueError(
            f"Laplacian pyramid of {levels} levels needs sides divisible by {divisor}; got {height}x{width}"
        )
    blur = binomial_kernel(image.shape[1]).to(image.device)
    expand = blur * 4
    pyramid = []
    current = image
    for _ in range(levels - 1):
        reduced = F.avg_pool2d(_blur(current, blur), 2)
        pyramid.append(current - _blur(_zero_insert(reduced), expand))
        current = reduced
    pyramid.append(current)
    return pyramid


def laplacian_loss(
    prediction: torch.Tensor, target: torch.Tensor, *, per_sample: bool = False
) -> torch.Tensor:
    """Sum over levels i of 2^i * |Lap_i(prediction) - Lap_i(target)|, summed (spec §8.1).

    ``per_sample`` keeps the batch axis (shape (B,)), for batches that mix samples with and
    without a teacher; the spec's scalar is its sum.
    """
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ")
    total = prediction.new_zeros(prediction.shape[0])
    for level, (a, b) in enumerate(
        zip(laplacian_pyramid(prediction), laplacian_pyramid(target), strict=True)
    ):
        total = total + 2**level * (a - b).abs().flatten(1).sum(dim=1)
    return total if per_sample else total.sum()


def distillation_loss(
    student: torch.Tensor,
    ground_truth: torch.Tensor,
    teacher: torch.Tensor | None = None,
    has_teacher: torch.Tensor | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> torch.Tensor:
    """``alpha * Lap(student, gt) + Lap(student, teacher)`` summed over the batch (spec §8.2).

    ``teacher`` (B, 3, H, W) may be None (no teacher at all: ``Lap(student, gt)``), and
    ``has_teacher`` (B,) bool marks which rows of ``teacher`` are real; rows without one use
    ``Lap(student, gt)`` alone (module docstring says why).
    """
    to_truth = laplacian_loss(student, ground_truth, per_sample=True)
    if teacher is None:
        return to_truth.sum()
    if has_teacher is None:
        has_teacher = torch.ones(student.shape[0], dtype=torch.bool, device=student.device)
    to_teacher = laplacian_loss(student, teacher, per_sample=True)
    combined = torch.where(has_teacher, alpha * to_truth + to_teacher, to_truth)
    return combined.sum()
