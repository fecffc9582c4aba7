"""The 18 prediction heads: tap weights and offsets for two frames at three scales (spec §5.2)."""

from __future__ import annotations

import torch
from torch import nn

FEATURE_CHANNELS = 32
HIDDEN_CHANNELS = 30

# (suffix, upsample factor from the half-resolution features); None = stay at half resolution.
SCALES: tuple[tuple[str, int | None], ...] = (("_ds", None), ("", 2), ("_us", 4))
ROLES = ("Weight", "Alpha", "Beta")


def _head(taps: int, upsample: int | None, softmax: bool) -> nn.Sequential:
    """One head; the Sequential indices reproduce the official state-dict keys."""
    layers: list[nn.Module] = [
        nn.Conv2d(FEATURE_CHANNELS, HIDDEN_CHANNELS, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(HIDDEN_CHANNELS, HIDDEN_CHANNELS, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(HIDDEN_CHANNELS, taps, 3, padding=1),
    ]
    if upsample is not None:
        layers += [
            nn.ReLU(),
            nn.Upsample(scale_factor=upsample, mode="bilinear", align_corners=True),
            nn.Conv2d(taps, taps, 3, padding=1),
        ]
    if softmax:
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


class KernelEstimation(nn.Module):
    """Holds the heads under their official names (``moduleWeight1_ds`` ... ``moduleBeta2_us``)."""

    def __init__(self, kernel_size: int = 5) -> None:
        super().__init__()
        taps = kernel_size * kernel_size
        for suffix, upsample in SCALES:
            for frame in (1, 2):
                for role in ROLES:
                    self.add_module(f"module{role}{frame}{suffix}", _head(taps, upsample, role == "Weight"))

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run every head; keys are the head names (e.g. ``Weight1_us``)."""
        return {name[len("module") :]: head(features) for name, head in self.named_children()}

    def warp_logits(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Like ``forward`` but weight heads stop before their Softmax.

        The exported graph hands logits to a warp op that does the softmax itself, which saves
        materialising the normalised 25-channel weights.
        """
        out = {}
        for name, head in self.named_children():
            body = head[:-1] if isinstance(head[-1], nn.Softmax) else head
            out[name[len("module") :]] = body(features)
        return out
