"""ST-MFNet Mini (the distilled "student"), layer for layer as the official code builds it.

Four frames at t-3, t-1, t+1, t+3 in, the frame at t out (spec §1-§5). Submodule names match
the official state-dict keys, so published checkpoints load strictly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from stmfnet_trt.core.contract import SIZE_MULTIPLE, check_frame_size, padded_size
from stmfnet_trt.model.feature import UMultiScaleResNext
from stmfnet_trt.model.gridnet import GridNet
from stmfnet_trt.model.heads import KernelEstimation
from stmfnet_trt.model.scales import Upsampler8Tap, gaussian_downscale
from stmfnet_trt.model.texture import TextureGenerator
from stmfnet_trt.model.warp import adaptive_warp, replicate_pad_for_warp

KERNEL_SIZE = 5
DILATION = 1
FEATURE_MEAN = (0.4631, 0.4352, 0.3990)  # RGB, subtracted only from the feature-extractor input
GAUSS_SIGMA = 0.5


def _gaussian_kernel(channels: int = 3, size: int = 5, sigma: float = GAUSS_SIGMA) -> torch.Tensor:
    """The frozen blur of the half-scale images; checkpoints carry it, this is only the default."""
    x = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g).float().expand(channels, 1, size, size).clone()


def pad_frames(frames: list[torch.Tensor], multiple: int = SIZE_MULTIPLE) -> list[torch.Tensor]:
    """Reflect-pad bottom and right to a multiple of ``multiple`` (height first, as the original)."""
    height, width = frames[0].shape[-2:]
    check_frame_size(height, width, multiple)
    pad_h = padded_size(height, multiple) - height
    pad_w = padded_size(width, multiple) - width
    if pad_h == 0 and pad_w == 0:
        return frames
    return [
        F.pad(F.pad(f, (0, 0, 0, pad_h), mode="reflect"), (0, pad_w, 0, 0), mode="reflect") for f in frames
    ]


class STMFNetMini(nn.Module):
    """The student network; ``forward(I0, I1, I2, I3)`` returns the unclamped middle frame.

    ``fused_softmax`` only changes how the warp gets its weights (logits + softmax inside the
    warp, as the exported custom op does); the numbers agree to float32 rounding.
    """

    def __init__(self, fused_softmax: bool = False) -> None:
        super().__init__()
        self.gauss_kernel = nn.Parameter(_gaussian_kernel(), requires_grad=False)
        self.feature_extractor = UMultiScaleResNext()
        self.get_kernel = KernelEstimation(KERNEL_SIZE)
        self.upsampler = Upsampler8Tap()
        self.scale_synthesis = GridNet()
        self.dyntex_generator = TextureGenerator()
        self.register_buffer("feature_mean", torch.tensor(FEATURE_MEAN).view(1, 3, 1, 1), persistent=False)
        self.fused_softmax = fused_softmax
        self.warp = adaptive_warp

    def _warp(self, image: torch.Tensor, heads: dict[str, torch.Tensor], key: str) -> torch.Tensor:
        padded = replicate_pad_for_warp(image, KERNEL_SIZE, DILATION)
        return self.warp(
            padded,
            heads[f"Weight{key}"],
            heads[f"Alpha{key}"],
            heads[f"Beta{key}"],
            dilation=DILATION,
            softmax=self.fused_softmax,
        )

    def synthesize(self, frame1: torch.Tensor, frame2: torch.Tensor) -> torch.Tensor:
        """Warp the two inner (padded) frames at three scales and fuse them with GridNet."""
        features = self.feature_extractor(
            torch.cat([frame1 - self.feature_mean, frame2 - self.feature_mean], dim=1)
        )
        heads = self.get_kernel.warp_logits(features) if self.fused_softmax else self.get_kernel(features)
        half1, half2 = (gaussian_downscale(f, self.gauss_kernel) for f in (frame1, frame2))
        double1, double2 = self.upsampler(frame1), self.upsampler(frame2)
        scale_pairs = {
            "_us": (double1, double2),
            "": (frame1, frame2),
            "_ds": (half1, half2),
        }
        warped = {
            suffix: torch.cat([self._warp(a, heads, f"1{suffix}"), self._warp(b, heads, f"2{suffix}")], dim=1)
            for suffix, (a, b) in scale_pairs.items()
        }
        return self.scale_synthesis(warped["_us"], warped[""], warped["_ds"])

    def forward_padded(
        self, frame0: torch.Tensor, frame1: torch.Tensor, frame2: torch.Tensor, frame3: torch.Tensor
    ) -> torch.Tensor:
        """The network on frames whose sides are already multiples of 128 (what ONNX exports)."""
        synth = self.synthesize(frame1, frame2)
        return synth + self.dyntex_generator(torch.stack([frame0, frame1, synth, frame2, frame3], dim=2))

    def forward(
        self, frame0: torch.Tensor, frame1: torch.Tensor, frame2: torch.Tensor, frame3: torch.Tensor
    ) -> torch.Tensor:
        height, width = frame1.shape[-2:]
        if frame2.shape[-2:] != (height, width):
            raise ValueError(f"inner frames differ in size: {tuple(frame1.shape)} vs {tuple(frame2.shape)}")
        out = self.forward_padded(*pad_frames([frame0, frame1, frame2, frame3]))
        return out[:, :, :height, :width]


def count_parameters(model: nn.Module) -> int:
    """Total parameters (the spec's 1 822 162 for the student)."""
    return sum(math.prod(p.shape) for p in model.parameters())
