"""The quality gate on a built engine runs inside the engine's profile (fake TensorRT and CUDA)."""

from __future__ import annotations

import onnx
from fake_engine_files import write_engine
from fake_tensorrt import EngineSpec
from onnx import TensorProto, helper

from stmfnet_trt.api.build import engine_gate
from stmfnet_trt.core.contract import INPUT_NAMES
from stmfnet_trt.engine.precision_step import PrecisionSettings, gate_shape
from stmfnet_trt.engine.request import ProfileShapes


def blend_onnx(path):
    """An FP32 reference honouring the contract: middle = (frame1 + frame2) / 2."""
    dims = ["N", 3, "H", "W"]
    graph = helper.make_graph(
        [
            helper.make_node("Add", [INPUT_NAMES[1], INPUT_NAMES[2]], ["sum"]),
            helper.make_node("Mul", ["sum", "half"], ["middle"]),
        ],
        "blend",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims) for n in INPUT_NAMES],
        [helper.make_tensor_value_info("middle", TensorProto.FLOAT, dims)],
        [helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_gate_shape_is_clamped_into_the_profile():
    profile = ProfileShapes.parse("1x256x256:1x256x384:2x256x512")
    assert gate_shape((384, 640), profile) == (256, 512)
    assert gate_shape((128, 300), profile) == (256, 300)


def test_engine_gate_runs_at_a_shape_the_engine_accepts(fakes, tmp_path):
    """The default calibration size (384x640) lies outside this 256x256 profile."""
    _, trt = fakes
    engine = write_engine(tmp_path, profile="1x128x128:1x256x256:1x256x256")
    trt.add_engine(engine.read_bytes(), EngineSpec(max=(1, 256, 256)))
    settings = PrecisionSettings("fp16", held_out=2, accept_quality_loss=True)
    report, why_not = engine_gate(engine, blend_onnx(tmp_path / "fp32.onnx"), settings)
    assert why_not is None and report.windows == 2
    assert trt.engines[0].batches == [1, 1] and trt.engines[0].violations == []
