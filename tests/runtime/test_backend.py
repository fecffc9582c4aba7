"""The backend protocol's input checks, shared by every backend."""

from __future__ import annotations

import numpy as np
import pytest

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.runtime.backends.blend import BlendBackend


def windows(shape=(2, 4, 3, 72, 80), dtype=np.float32, value=0.5):
    return np.full(shape, value, dtype)


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (windows((2, 4, 4, 72, 80)), r"four RGB frames"),  # RGBA: wrong channel count
        (windows((2, 3, 3, 72, 80)), r"four RGB frames"),  # three frames per window
        (windows((4, 3, 72, 80)), r"shape \(N, 4, 3, H, W\)"),
        (windows((0, 4, 3, 72, 80)), "empty"),
        (windows(dtype=np.float64), "float32"),
        (windows(value=255.0), r"\[0, 1\]"),
        (windows(value=np.nan), r"\[0, 1\]"),
        (windows((1, 4, 3, 40, 80)), "too small"),
    ],
)
def test_bad_windows_are_refused(batch, message):
    with pytest.raises(InputError, match=message):
        BlendBackend().interpolate(batch)


def test_blend_returns_the_mean_of_the_inner_frames():
    batch = np.random.default_rng(0).random((2, 4, 3, 72, 80), dtype=np.float32)
    out = BlendBackend().interpolate(batch)
    assert out.shape == (2, 3, 72, 80)
    assert np.allclose(out, (batch[:, 1] + batch[:, 2]) / 2)
