"""bench/upconv.py: the cheaper forms of a stride-2 transposed convolution compute the same frame."""

from __future__ import annotations

import numpy as np
import pytest
from bench_scripts import bench_script


@pytest.fixture(scope="module")
def upconv():
    with bench_script("upconv") as module:
        yield module


@pytest.mark.parametrize("form", ["subpixel3x3", "phases2x2"])
@pytest.mark.parametrize(("height", "width"), [(6, 8), (7, 5)])  # odd sides: the phases' edges
def test_each_form_gives_the_transposed_convolution(upconv, tmp_path, form, height, width):
    import onnxruntime as ort

    weight = np.random.default_rng(0).normal(0, 1, (6, 4, 4, 4)).astype(np.float32)
    x = np.random.default_rng(1).normal(0, 1, (2, 6, height, width)).astype(np.float32)
    outputs = {}
    for name in ("convtranspose", form):
        session = ort.InferenceSession(upconv.build(name, weight), providers=["CPUExecutionProvider"])
        (outputs[name],) = session.run(["y"], {"x": x})
    assert outputs[form].shape == (2, 4, 2 * height, 2 * width)
    np.testing.assert_allclose(outputs[form], outputs["convtranspose"], atol=1e-4)


def test_the_arithmetic_of_each_form(upconv):
    weight = np.zeros((96, 16, 4, 4), np.float32)
    shape = (5, 96, 128, 128)  # decoder.4 at 256x256
    assert upconv.form_gflop("convtranspose", weight, shape) == pytest.approx(4.03, abs=0.01)
    assert upconv.form_gflop("subpixel3x3", weight, shape) == pytest.approx(2.25 * 4.027, rel=1e-3)
    assert upconv.form_gflop("phases2x2", weight, shape) == pytest.approx(4.027 * (129 / 128) ** 2, rel=1e-3)


def test_every_form_of_every_decoder_is_timed_and_checked(upconv):
    rows = upconv.time_forms(upconv.decoder_weights(None), (32, 48), runs=1, threads=1)
    assert [(r.node, r.form) for r in rows] == [(n, f) for n in upconv.DECODERS for f in upconv.FORMS]
    assert all(r.ms > 0 and r.max_abs_diff < 1e-4 for r in rows)
    assert rows[-3].input_shape == (5, 96, 16, 24)  # decoder.4 reads half the frame's side
