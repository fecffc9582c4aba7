"""Layer groups of ST-MFNet Mini, by ONNX node name: the rows of the sensitivity report.

Coarse groups follow the architecture (spec §5): feature extractor, the prediction heads (split
into hidden convolutions, tap-logit outputs and offset outputs, which matter very differently),
GridNet, the 3-D texture branch and the fixed image filters that make the half/double-scale
frames. ``fine=True`` splits each group one module level further (``feature extractor/conv1``,
``GridNet/lateral_0_1``, heads per scale), to find the one block that costs most.
"""

from __future__ import annotations

import re

from stmfnet_trt.calibration.warp_region import HEAD_SCOPE, WarpRegion

OFFSET_HEADS = "head offsets (Alpha/Beta output convs)"
WEIGHT_HEADS = "head tap logits (Weight output convs)"
HIDDEN_HEADS = "heads (hidden convs)"
SCOPE_GROUPS = (
    ("feature extractor", re.compile(r"^/feature_extractor/(?:(?P<block>[^/]+)/)?")),
    ("GridNet", re.compile(r"^/scale_synthesis/(?:(?P<block>[^/]+)/)?")),
    ("3-D texture branch", re.compile(r"^/dyntex_generator/(?:(?P<block>[^/]+(?:/layer\d+)?)/)?")),
    (
        "image filters (8-tap upsampler, Gaussian blur)",
        re.compile(r"^/(?P<block>upsampler(?:_\d+)?)/|^/Conv(?:_\d+)?$"),
    ),
)
OTHER = "other"


def layer_group(name: str, region: WarpRegion, fine: bool = False) -> str:
    """The group of the node called ``name``."""
    head = HEAD_SCOPE.search(name)
    if head is not None:
        label = (
            OFFSET_HEADS
            if name in region.offset_convs
            else WEIGHT_HEADS
            if name in region.weight_convs
            else HIDDEN_HEADS
        )
        scale = head.group(0).rsplit("_", 1)[-1] if "_" in head.group(0) else "full"
        return f"{label}/{scale}" if fine else label
    for label, pattern in SCOPE_GROUPS:
        match = pattern.search(name)
        if match is not None:
            return f"{label}/{match['block']}" if fine and match["block"] else label
    return OTHER
