"""The exported model's interface: names, layouts, the padding contract and metadata keys.

Torch-free, so that runtimes (ONNX Runtime, TensorRT) and checks import it without torch.

Contract of every exported graph (all variants):

* inputs ``frame0`` .. ``frame3``: float32 (N, 3, H, W), RGB in [0, 1], the frames at t-3, t-1,
  t+1, t+3; **H and W multiples of 128** (dynamic N, H, W);
* output ``middle``: float32 (N, 3, H, W), the frame at t, not clamped.

Padding lives in the runtime, not the graph: callers reflect-pad the bottom and right of every
frame to a multiple of 128 (``pad_to_multiple``) and crop the output back. Keeping it outside
makes every shape inside the graph a clean multiple, which TensorRT profiles and the custom op
like, and lets a runtime pad on the GPU or tile without re-exporting.
"""

from __future__ import annotations

import numpy as np

from ..model.padding import SIZE_MULTIPLE, check_frame_size, padded_size

INPUT_NAMES = ("frame0", "frame1", "frame2", "frame3")
OUTPUT_NAME = "middle"
VARIANTS = ("plugin", "portable", "cpu")
# Variants whose warp is our AdaptiveWarp node (TensorRT plugin / ORT op) rather than standard ops.
CUSTOM_WARP_VARIANTS = ("plugin", "cpu")
# TorchScript exporter at opset 17: the dynamo exporter needs ~4.5 min for the portable graph
# (600 unrolled gathers) against ~40 s here, and opset 17 is what TensorRT 8.6-10.x parse
# best. Below 20 also sidesteps TensorRT's GridSample-as-nearest parser bug (we use none).
OPSET = 17
# Bumped whenever the exported graph of a given checkpoint changes, so caches keyed on it re-export.
# 2: texture-branch ConvTranspose3d exported as batched 2-D transposed convs (export/rewrites.py).
# 3: GridNet's 46-channel row zero-padded to 48, its one-slope PReLUs as LeakyReLUs.
GRAPH_REVISION = 3

META_PREFIX = "stmfnet_trt."
META_VARIANT = META_PREFIX + "variant"
META_CHECKPOINT_SHA256 = META_PREFIX + "checkpoint_sha256"
META_OPSET = META_PREFIX + "opset"
META_VERSION = META_PREFIX + "package_version"
META_CONTRACT = META_PREFIX + "contract"
CONTRACT_TEXT = (
    "inputs frame0..frame3 float32 (N,3,H,W) RGB [0,1] at t-3,t-1,t+1,t+3, H and W multiples of "
    f"{SIZE_MULTIPLE} (reflect-pad bottom/right, crop after); output middle float32 (N,3,H,W), unclamped"
)


def pad_to_multiple(frames: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Reflect-pad the last two axes at the bottom/right to multiples of ``multiple``."""
    height, width = frames.shape[-2:]
    check_frame_size(height, width, multiple)
    pad = [(0, 0)] * (frames.ndim - 2)
    pad += [(0, padded_size(height, multiple) - height), (0, padded_size(width, multiple) - width)]
    if pad[-1] == (0, 0) and pad[-2] == (0, 0):
        return frames
    return np.pad(frames, pad, mode="reflect")
