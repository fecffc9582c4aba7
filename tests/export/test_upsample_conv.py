"""The heads' factored upsample + 3x3 conv: the rewrite is the same function, the ORT op its definition.

Three links, each checked on its own: ``FactoredUpsampleConv`` (1x1 conv + the op's torch reference)
equals ``Conv2d(Upsample(x))``; the exported ``UpsampleConv3x3`` node in ONNX Runtime equals that
reference (odd sizes, a batch, one-pixel maps, every scale the model uses and more); and the model's
heads keep their outputs when all twelve tails are factored.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from stmfnet_trt.core.contract import OPSET
from stmfnet_trt.core.upsample_conv_op import OP_NAME
from stmfnet_trt.core.warp_op import OP_DOMAIN
from stmfnet_trt.export.ort_session import create_session
from stmfnet_trt.export.upsample_conv import FactoredUpsampleConv, factor_upsample_convs
from stmfnet_trt.model.heads import KernelEstimation

# float32 sums in another order than the direct conv: a few ulp of outputs of magnitude ~10.
TOLERANCE = 2e-5


def upsample_then_conv(scale: int, channels: int = 5, out_channels: int = 4, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Upsample(scale_factor=scale, mode="bilinear", align_corners=True),
        nn.Conv2d(channels, out_channels, 3, padding=1),
    ).eval()


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(2, 5, 7, 9), (1, 5, 1, 1), (1, 5, 1, 12), (1, 5, 16, 16)])
def test_factored_module_equals_upsample_then_conv(scale, shape):
    direct = upsample_then_conv(scale)
    factored = FactoredUpsampleConv(direct[0], direct[1])
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = direct(x), factored(x)
    assert got.shape == want.shape
    assert (got - want).abs().max().item() <= TOLERANCE * max(1.0, want.abs().max().item())


@pytest.mark.parametrize(
    "upsample, conv",
    [
        (nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), nn.Conv2d(3, 3, 3, padding=1)),
        (nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(3, 3, 3, padding=1)),
        (nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True), nn.Conv2d(3, 3, 3, padding=1)),
        (nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), nn.Conv2d(3, 3, 3, padding=0)),
        (nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), nn.Conv2d(3, 3, 5, padding=2)),
        (
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            nn.Conv2d(3, 3, 3, padding=1, bias=False),
        ),
    ],
)
def test_other_upsample_conv_pairs_are_left_alone(upsample, conv):
    assert not FactoredUpsampleConv.applies_to(upsample, conv)
    with pytest.raises(ValueError, match="not a factorable"):
        FactoredUpsampleConv(upsample, conv)


def test_all_twelve_head_tails_are_factored_and_keep_their_outputs():
    torch.manual_seed(3)
    heads = KernelEstimation().eval()
    features = torch.randn(1, 32, 16, 24)
    with torch.no_grad():
        want = heads(features)
        assert factor_upsample_convs(heads) == 12
        got = heads(features)
    assert factor_upsample_convs(heads) == 0  # nothing left to factor
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].shape == want[name].shape, name
        assert (got[name] - want[name]).abs().max().item() <= TOLERANCE, name


class _Tail(nn.Module):
    """What the exporter traces for one head tail: the 1x1 conv and the op."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.tail = FactoredUpsampleConv(*upsample_then_conv(scale, channels=6, out_channels=3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(x)


@pytest.fixture(scope="module")
def tail_sessions(tmp_path_factory):
    """Per scale: the exported tail (dynamic N, H, W) in ONNX Runtime with 1 and 2 threads."""
    folder = tmp_path_factory.mktemp("upsample_conv")
    sessions = {}
    for scale in (1, 2, 3, 4):
        module = _Tail(scale).eval()
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                module,
                (torch.rand(1, 6, 8, 8),),
                buffer,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "y": {0: "n", 2: "H", 3: "W"}},
                opset_version=OPSET,
                custom_opsets={OP_DOMAIN: 1},
                dynamo=False,
            )
        path = folder / f"tail_x{scale}.onnx"
        path.write_bytes(buffer.getvalue())
        sessions[scale] = (module, {t: create_session(path, threads=t) for t in (1, 2)}, path)
    return sessions


def test_exported_tail_is_one_conv_and_one_custom_node(tail_sessions):
    import onnx

    model = onnx.load(str(tail_sessions[4][2]))
    assert [(n.domain or "ai.onnx", n.op_type) for n in model.graph.node] == [
        ("ai.onnx", "Conv"),
        (OP_DOMAIN, OP_NAME),
    ]
    assert onnx.helper.get_attribute_value(model.graph.node[1].attribute[0]) == 4


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(2, 6, 7, 9), (1, 6, 1, 1), (1, 6, 3, 20), (1, 6, 24, 5)])
def test_ort_op_equals_its_torch_definition(tail_sessions, scale, shape):
    module, sessions, _ = tail_sessions[scale]
    x = np.random.default_rng(sum(shape) + scale).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    one, two = (sessions[t].run(None, {"x": x})[0] for t in (1, 2))
    assert one.shape == want.shape == (shape[0], 3, shape[2] * scale, shape[3] * scale)
    assert np.abs(one - want).max() <= TOLERANCE * max(1.0, np.abs(want).max())
    assert np.array_equal(one, two)  # bands split across threads: the same bits


def test_ort_op_rejects_taps_that_are_not_nine_per_channel(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node(OP_NAME, ["taps", "bias"], ["y"], domain=OP_DOMAIN, scale=2)
    graph = helper.make_graph(
        [node],
        "bad",
        [helper.make_tensor_value_info("taps", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.zeros(2, np.float32), "bias")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(OP_DOMAIN, 1)]
    )
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    session = create_session(path, threads=1)
    with pytest.raises(Exception, match=r"UpsampleConv3x3 .*9\*C channels"):
        session.run(None, {"taps": np.zeros((1, 10, 4, 4), np.float32)})
    with pytest.raises(Exception, match=r"UpsampleConv3x3 .*bias must have C = 1 values, got 2"):
        session.run(None, {"taps": np.zeros((1, 9, 4, 4), np.float32)})
