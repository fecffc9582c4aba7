"""The model's I/O contract: sizes it can pad, tensor names and layouts, metadata keys.

Torch-free and in ``core``, so that every runtime (ONNX Runtime, TensorRT, a Triton client) and
every check validates frames and graphs by the same rule without importing the model. The size
rule: reflect padding to a multiple of 128 and the crop back (spec §3).

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

from dataclasses import dataclass

import numpy as np

from stmfnet_trt.core.errors import InputError, Param, UserError

SIZE_MULTIPLE = 128


def padded_size(size: int, multiple: int = SIZE_MULTIPLE) -> int:
    """Smallest multiple of ``multiple`` that is >= ``size``."""
    return -(-size // multiple) * multiple


def check_frame_size(height: int, width: int, multiple: int = SIZE_MULTIPLE) -> None:
    """Reject sizes the model cannot pad.

    Reflect padding needs a pad smaller than the side it mirrors, so a side that is not a
    multiple of 128 must be at least 65 pixels (``128 - s % 128 < s``); the official code
    crashes on such frames, we say why instead.
    """
    for name, size in (("height", height), ("width", width)):
        if size < 1:
            raise InputError(f"frame {name} must be positive, got {size}")
        pad = padded_size(size, multiple) - size
        if pad >= size:
            raise InputError(
                f"frame {name} {size} is too small: the model reflect-pads to a multiple of {multiple}, "
                f"which needs a side of at least {multiple // 2 + 1} px (or exactly {multiple}); "
                "upscale the input first"
            )


INPUT_NAMES = ("frame0", "frame1", "frame2", "frame3")
OUTPUT_NAME = "middle"
VARIANTS = ("plugin", "portable", "cpu")
# Variants whose warp is our AdaptiveWarp node (TensorRT plugin / ORT op) rather than standard ops.
CUSTOM_WARP_VARIANTS = ("plugin", "cpu")
# TorchScript exporter at opset 17: the dynamo exporter needs ~4.5 min for the portable graph
# (600 unrolled gathers) against ~40 s with TorchScript, and opset 17 is what TensorRT 8.6-10.x parse
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


@dataclass(frozen=True)
class TensorInfo:
    """One graph input or output as any runtime reports it: name, element type, dims.

    ``dtype`` is ONNX Runtime's spelling (``tensor(float)``); a dim is an int or a symbolic name.
    """

    name: str
    dtype: str
    shape: tuple[int | str | None, ...]


FLOAT_TENSOR = "tensor(float)"


def _fixed_channels(tensor: TensorInfo) -> int | None:
    """The channel dim where the graph fixes it; None where it is symbolic or unknown."""
    channels = tensor.shape[1]
    return channels if isinstance(channels, int) else None


def interface_problems(inputs: list[TensorInfo], outputs: list[TensorInfo]) -> list[str]:
    """What keeps a graph's I/O from the contract above (empty when it matches)."""
    problems = []
    names = tuple(t.name for t in inputs)
    if names != INPUT_NAMES:
        problems.append(f"inputs are {list(names)}, expected {list(INPUT_NAMES)}")
    if [t.name for t in outputs] != [OUTPUT_NAME]:
        problems.append(f"outputs are {[t.name for t in outputs]}, expected ['{OUTPUT_NAME}']")
    for tensor in [*inputs, *outputs]:
        if tensor.dtype != FLOAT_TENSOR:
            problems.append(f"{tensor.name} is {tensor.dtype}, expected float32")
        if len(tensor.shape) != 4 or _fixed_channels(tensor) not in (3, None):
            problems.append(f"{tensor.name} has shape {list(tensor.shape)}, expected (N, 3, H, W)")
    return problems


def check_export_contract(
    path: str, metadata: dict[str, str], inputs: list[TensorInfo], outputs: list[TensorInfo], *, force: bool
) -> None:
    """Refuse a graph that is not one of our exports before it computes anything.

    The tensor names alone prove little: a graph with the right names and other maths would be
    run without a word and write wrong frames. Our exporter stamps every file (variant,
    checkpoint sha256, the contract text); a file without the stamp runs only when ``force``
    is given. A graph whose I/O cannot fit the contract is refused even then. The stamp is not a
    signature: ``stmfnet-trt check`` measures a file against its checkpoint.
    """
    problems = interface_problems(inputs, outputs)
    if problems:
        raise UserError(f"{path} does not follow the export contract: {'; '.join(problems)}")
    if force:
        return
    variant = metadata.get(META_VARIANT)
    if variant not in VARIANTS or not metadata.get(META_CHECKPOINT_SHA256):
        raise UserError(
            f"{path} carries no stmfnet-trt export metadata (not written by `stmfnet-trt export`); "
            "refusing to run it. Export your checkpoint with `stmfnet-trt export`, or accept this file "
            "as it is with ",
            Param("force_foreign_onnx", True),
        )
    if metadata.get(META_CONTRACT) != CONTRACT_TEXT:
        raise UserError(
            f"{path} was exported for another interface ({metadata.get(META_CONTRACT)!r}); "
            "re-export it with this version of stmfnet-trt"
        )
