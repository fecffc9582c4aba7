"""The export contract's frame sizes: padding to a multiple of 128 and the smallest side (spec §3).

The padding itself (bottom/right reflection and the crop back) is the model's: tests/model/test_padding.py.
"""

from __future__ import annotations

import pytest

from stmfnet_trt.core.contract import check_frame_size, padded_size
from stmfnet_trt.core.errors import InputError


@pytest.mark.parametrize(("size", "padded"), [(1, 128), (96, 128), (128, 128), (129, 256), (544, 640)])
def test_padded_size(size, padded):
    assert padded_size(size) == padded


@pytest.mark.parametrize(("height", "width"), [(64, 128), (128, 64), (30, 200)])
def test_sides_too_small_to_reflect_are_refused(height, width):
    with pytest.raises(InputError, match="too small"):
        check_frame_size(height, width)
