"""The network's size contract: reflect padding to a multiple of 128 and the crop back (spec §3).

Kept free of torch so that runtimes without torch can validate sizes with the same rule.
"""

from __future__ import annotations

from stmfnet_trt.errors import InputError

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
