"""3-D CNN texture branch: a residual over the five-frame stack (spec §5.6, ``UNet3d_18``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ENCODER_CHANNELS = (16, 24, 32, 40)
DECODER_SLOPE = 0.2
SPATIAL_STRIDE = (1, 2, 2)


class SEGating(nn.Module):
    """Channel gate from the global (T, H, W) average through a 1x1x1 conv and a sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.attn_layer = nn.Sequential(nn.Conv3d(channels, channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attn_layer(x.mean(dim=(2, 3, 4), keepdim=True))


class BasicBlock(nn.Module):
    """Residual 3x3x3 pair with SE gating before the shortcut sum."""

    def __init__(self, cin: int, planes: int, stride: int | tuple[int, int, int] = 1) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv3d(cin, planes, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm3d(planes),
            nn.ReLU(),
        )
        self.conv2 = nn.Sequential(
            nn.Conv3d(planes, planes, 3, padding=1, bias=False), nn.BatchNorm3d(planes)
        )
        self.fg = SEGating(planes)
        needs_projection = stride != 1 or cin != planes
        self.downsample = (
            nn.Sequential(nn.Conv3d(cin, planes, 1, stride=stride, bias=False), nn.BatchNorm3d(planes))
            if needs_projection
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fg(self.conv2(self.conv1(x)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(y + shortcut)


class Encoder3d(nn.Module):
    """Stem plus four two-block stages; returns every stage's output for the skips."""

    def __init__(self) -> None:
        super().__init__()
        c0, c1, c2, c3 = ENCODER_CHANNELS
        self.stem = nn.Sequential(
            nn.Conv3d(3, c0, (3, 7, 7), stride=SPATIAL_STRIDE, padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(c0),
            nn.ReLU(),
        )
        self.layer1 = nn.Sequential(BasicBlock(c0, c0), BasicBlock(c0, c0))
        self.layer2 = nn.Sequential(BasicBlock(c0, c1, SPATIAL_STRIDE), BasicBlock(c1, c1))
        self.layer3 = nn.Sequential(BasicBlock(c1, c2, SPATIAL_STRIDE), BasicBlock(c2, c2))
        self.layer4 = nn.Sequential(BasicBlock(c2, c3), BasicBlock(c3, c3))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x0 = self.stem(x)
        x1 = self.layer1(x0)
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        x4 = self.layer4(x3)
        return [x0, x1, x2, x3, x4]


class Conv3dStage(nn.Module):
    """Decoder conv: conv (with bias) -> SE gating -> BatchNorm (gating before normalisation)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1), SEGating(cout), nn.BatchNorm3d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UpConv3dStage(nn.Module):
    """Decoder up step: spatial x2 transposed conv -> SE gating -> BatchNorm."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.upconv = nn.Sequential(
            nn.ConvTranspose3d(cin, cout, (3, 4, 4), stride=SPATIAL_STRIDE, padding=(1, 1, 1)),
            SEGating(cout),
            nn.BatchNorm3d(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upconv(x)


class TextureGenerator(nn.Module):
    """Encoder, decoder with concatenated skips, time folded into channels, 7x7 output conv."""

    def __init__(self, frames: int = 5) -> None:
        super().__init__()
        c0, c1, c2, c3 = ENCODER_CHANNELS
        self.encoder = Encoder3d()
        self.decoder = nn.Sequential(
            Conv3dStage(c3, c2),
            UpConv3dStage(2 * c2, c1),
            UpConv3dStage(2 * c1, c0),
            Conv3dStage(2 * c0, c0),
            UpConv3dStage(2 * c0, c0),
        )
        self.feature_fuse = nn.Sequential(nn.Conv2d(c0 * frames, 8, 1, bias=False), nn.BatchNorm2d(8))
        self.outconv = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(8, 3, 7))

    def forward(self, stack: torch.Tensor) -> torch.Tensor:
        """``stack`` is (B, 3, 5, H, W): I0, I1, synth, I2, I3 along time."""
        x0, x1, x2, x3, x4 = self.encoder(stack)
        skips = [x3, x2, x1, x0, None]
        y = x4
        for stage, skip in zip(self.decoder, skips, strict=True):
            y = F.leaky_relu(stage(y), DECODER_SLOPE)
            if skip is not None:
                y = torch.cat([y, skip], dim=1)
        y = torch.cat(torch.unbind(y, dim=2), dim=1)
        y = F.leaky_relu(self.feature_fuse(y), DECODER_SLOPE)
        return self.outconv(y)
