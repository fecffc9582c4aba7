"""The exported AdaptiveWarp node with the fused softmax, run by our ONNX Runtime CPU op, equals
``torch.softmax`` over the taps followed by the reference warp (the PyTorch oracle).

The node comes from the real exporter translation (``warp_via_custom_op``), so this checks the
symbolic, the op's attributes and the CPU kernel (vectorised row loop, softmaxExp) together.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

from stmfnet_trt.core.contract import OPSET
from stmfnet_trt.core.warp_op import OP_DOMAIN
from stmfnet_trt.export.ort_session import create_session
from stmfnet_trt.export.warp_custom_op import warp_via_custom_op
from stmfnet_trt.model.warp import adaptive_warp

TOLERANCE = 1e-5  # the golden cases' FP32 tolerance (softmaxExp is within 2e-7 relative of exp)
NAMES = ("image", "logits", "offset_v", "offset_h")
GOLDEN = [f"case{n}" for n in range(5)]


class FusedWarp(torch.nn.Module):
    def forward(self, image, logits, offset_v, offset_h):
        return warp_via_custom_op(image, logits, offset_v, offset_h, dilation=1, softmax=True)


@pytest.fixture(scope="module")
def fused_warp_onnx(tmp_path_factory):
    """One fused AdaptiveWarp node with dynamic N, C, H, W, as the exporter writes it."""
    example = (
        torch.rand(1, 3, 12, 13),
        torch.rand(1, 25, 8, 9),
        torch.rand(1, 25, 8, 9),
        torch.rand(1, 25, 8, 9),
    )
    dynamic = {name: {0: "n", 1: f"c_{name}", 2: f"h_{name}", 3: f"w_{name}"} for name in NAMES}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            FusedWarp(),
            example,
            buffer,
            input_names=list(NAMES),
            output_names=["out"],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            custom_opsets={OP_DOMAIN: 1},
            dynamo=False,
        )
    path = tmp_path_factory.mktemp("fused_warp") / "fused_warp.onnx"
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture(scope="module")
def sessions(fused_warp_onnx):
    return {threads: create_session(fused_warp_onnx, threads=threads) for threads in (1, 2)}


def run_ort(session, image, logits, offset_v, offset_h) -> np.ndarray:
    feeds = dict(zip(NAMES, (image, logits, offset_v, offset_h), strict=True))
    return session.run(None, {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in feeds.items()})[0]


def reference(image, logits, offset_v, offset_h) -> np.ndarray:
    tensors = [
        torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        for a in (image, logits, offset_v, offset_h)
    ]
    image_t, logits_t, offset_v_t, offset_h_t = tensors
    return adaptive_warp(image_t, torch.softmax(logits_t, dim=1), offset_v_t, offset_h_t).numpy()


def golden_inputs(warp_cases, case):
    return tuple(warp_cases[f"{case}_{key}"] for key in ("image_padded", "weight", "offset_v", "offset_h"))


@pytest.mark.parametrize("case", GOLDEN)
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_fused_softmax_warp_equals_softmax_then_reference_warp(sessions, warp_cases, case, scale):
    image, weight, offset_v, offset_h = golden_inputs(warp_cases, case)
    logits = np.random.default_rng(len(case) + int(scale)).standard_normal(weight.shape) * scale
    got = run_ort(sessions[2], image, logits, offset_v, offset_h)
    want = reference(image, logits, offset_v, offset_h)
    assert np.isfinite(got).all()
    assert np.abs(got - want).max() <= TOLERANCE


@pytest.mark.parametrize("case", GOLDEN)
def test_log_weights_reproduce_the_golden_output(sessions, warp_cases, case):
    """softmax(log w) = w for weights that sum to 1 over the taps: the fused op gives the golden frame."""
    image, weight, offset_v, offset_h = golden_inputs(warp_cases, case)
    got = run_ort(sessions[2], image, np.log(weight), offset_v, offset_h)
    assert np.abs(got - warp_cases[f"{case}_output"]).max() <= TOLERANCE


def test_saturated_logits_give_exact_one_hot_taps(sessions, warp_cases):
    """+-1e4 logits: softmax is exactly one-hot in float32, the max-subtracted exp must not overflow."""
    image, weight, offset_v, offset_h = golden_inputs(warp_cases, "case1")
    taps = np.arange(weight.shape[1])[None, :, None, None]
    hot = np.random.default_rng(5).integers(0, weight.shape[1], size=(weight.shape[0], 1, *weight.shape[2:]))
    logits = np.where(taps == hot, 1e4, -1e4)
    got = run_ort(sessions[2], image, logits, offset_v, offset_h)
    assert np.array_equal(got, reference(image, logits, offset_v, offset_h))


def test_one_and_two_threads_give_the_same_bits(sessions):
    """Rows are split over ORT's threads, each output element has one writer: bitwise equal."""
    rng = np.random.default_rng(9)
    height, width = 9, 150  # several 64-pixel blocks per row, and a partial one
    image = rng.random((2, 3, height + 4, width + 4))
    logits, offset_v, offset_h = (rng.standard_normal((2, 25, height, width)) * s for s in (5.0, 3.0, 3.0))
    one, two = (run_ort(sessions[t], image, logits, offset_v, offset_h) for t in (1, 2))
    assert np.array_equal(one, two)
    assert np.abs(one - reference(image, logits, offset_v, offset_h)).max() <= TOLERANCE
