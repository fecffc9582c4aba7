"""FP16 and INT8 models from the random-stats fixture and real frames: quality, placement, variants.

Measured here (random-stats weights, 128x128, ONNX Runtime CPU), the numbers the assertions
bracket: FP16 plugin on carphone ~67 dB / max abs ~1.3e-3; INT8 (max) on demo ~39 dB / max
abs ~0.05 for both variants; plugin INT8 vs portable INT8 ~44 dB (their FP32 warps differ by
~2e-6, which flips INT8 roundings downstream; the Q/DQ themselves are identical).
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from stmfnet_trt.calibration import make_precision_onnx, quality_gate
from stmfnet_trt.calibration.precision import META_PRECISION_CONFIG
from stmfnet_trt.calibration.prepare import META_PRECISION
from stmfnet_trt.calibration.qdq import quantized_inputs
from stmfnet_trt.calibration.quality import model_outputs
from stmfnet_trt.calibration.warp_region import find_warp_region
from stmfnet_trt.core.contract import META_OPSET
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.frames import random_frames
from stmfnet_trt.core.warp_op import OP_DOMAIN, OP_NAME
from stmfnet_trt.export.op_schemas import register_op_schemas
from stmfnet_trt.export.parity import Difference
from stmfnet_trt.model.checkpoint import file_sha256

FLOAT, FLOAT16, INT64 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.INT64


def tensor_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every tensor ONNX can type (initializers and graph I/O included)."""
    register_op_schemas()
    inferred = onnx.shape_inference.infer_shapes(model)
    values = [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    types = {v.name: v.type.tensor_type.elem_type for v in values}
    types.update({i.name: i.data_type for i in model.graph.initializer})
    return types


def region_of(exported, variant):
    return find_warp_region(onnx.load(str(exported[variant])))


def test_fp16_plugin_meets_the_gate_on_held_out_real_frames(exported, fp16_plugin, carphone_windows):
    report = quality_gate(exported["plugin"], fp16_plugin, carphone_windows.held_out, "fp16")
    assert report.passed and report.windows == 2 and report.threshold_db == 45
    assert 55 < report.psnr_db < 90, report.summary()  # FP16 for real, and far above the gate
    assert 1e-5 < report.max_abs < 5e-3, report.summary()


def test_fp16_keeps_the_warp_and_the_head_outputs_fp32(exported, fp16_plugin):
    region = region_of(exported, "plugin")
    model = onnx.load(str(fp16_plugin))
    types = tensor_types(model)
    nodes = {n.name: n for n in model.graph.node}
    warps = [n for n in model.graph.node if n.op_type == OP_NAME]
    assert len(warps) == 6
    for warp in warps:
        assert [types[name] for name in warp.input] == [FLOAT] * 4, warp.name
    for name in region.nodes:  # pads, resizes, concats of the warp: never FP16
        assert all(types.get(i) != FLOAT16 for i in nodes[name].input), name
    for name in (*region.offset_convs, *region.weight_convs):
        assert [types[i] for i in nodes[name].input] == [FLOAT] * 3, name  # data, weight, bias
    convs = [n for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    assert sum(types[n.input[1]] == FLOAT16 for n in convs) >= len(convs) - 30  # the rest really is FP16
    assert {types[v.name] for v in (*model.graph.input, *model.graph.output)} == {FLOAT}
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta[META_PRECISION] == "fp16"
    config = json.loads(meta[META_PRECISION_CONFIG])
    assert config["fp32_convs"] == [*region.offset_convs, *region.weight_convs]
    assert config["frames"] == "carphone_12.mp4" and config["windows"] == 2


def test_fp16_portable_keeps_its_index_arithmetic_fp32_and_user_exclusions(
    exported, carphone_windows, precision_dir, fp32_outputs
):
    path = make_precision_onnx(
        exported["portable"],
        "fp16",
        precision_dir / "portable_fp16.onnx",
        calib=carphone_windows,
        exclude=["^/dyntex_generator/"],
    )
    region = region_of(exported, "portable")
    model = onnx.load(str(path))
    types = tensor_types(model)
    inside = [n for n in model.graph.node if n.name in region.nodes]
    assert len(inside) == len(region.nodes)
    assert {n.op_type for n in inside} >= {"Cast", "Clip", "GatherElements", "Softmax"}
    for node in inside:
        assert all(types.get(i) != FLOAT16 for i in node.input), node.name
    casts = [n for n in inside if n.op_type == "Cast"]  # offsets -> int64 and back, all from/to FP32
    assert {types[n.input[0]] for n in casts} == {types[n.output[0]] for n in casts} == {FLOAT, INT64}
    texture = [n for n in model.graph.node if n.name.startswith("/dyntex_generator/")]
    assert texture and all(types.get(i) != FLOAT16 for n in texture for i in n.input)
    difference = Difference.between(
        fp32_outputs("portable", carphone_windows), model_outputs(path, carphone_windows.held_out)
    )
    assert difference.psnr_db > 55 and difference.max_abs < 5e-3, difference


def test_int8_meets_the_gate_on_held_out_real_frames(exported, int8_models, demo_windows):
    report = quality_gate(exported["plugin"], int8_models["plugin"], demo_windows.held_out, "int8")
    assert report.passed and report.threshold_db == 32 and report.windows == 2
    assert 35 < report.psnr_db < 50, report.summary()
    assert 0.01 < report.max_abs < 0.15, report.summary()


@pytest.mark.parametrize("variant", ["plugin", "portable"])
def test_int8_qdq_stays_off_the_warp_and_the_offsets(exported, int8_models, variant):
    region = region_of(exported, variant)
    model = onnx.load(str(int8_models[variant]))
    quantized = quantized_inputs(model)
    producer = {o: n for n in model.graph.node for o in n.output}
    assert not set(quantized) & region.nodes
    assert not set(quantized) & set(region.offset_convs)
    assert set(region.weight_convs) <= set(quantized)  # tap logits are quantized by default
    for name in region.inputs:  # no warp input comes out of a DequantizeLinear
        assert producer[name].op_type != "DequantizeLinear", name
    convs = [n for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    quantized_convs = [n for n in convs if n.name in quantized]
    assert len(quantized_convs) > 180 and all(quantized[n.name] == [0, 1] for n in quantized_convs)
    meta = {p.key: p.value for p in model.metadata_props}
    config = json.loads(meta[META_PRECISION_CONFIG])
    assert meta[META_PRECISION] == "int8" and config["method"] == "max" and config["windows"] == 3
    assert config["fp32_convs"] == list(region.offset_convs) and config["shape"] == [128, 128]
    opset = {o.domain: o.version for o in model.opset_import}
    assert meta[META_OPSET] == str(opset[""]) == "19"  # ModelOpt writes opset 19 Q/DQ
    assert opset.get(OP_DOMAIN) == (1 if variant == "plugin" else None)


def test_plugin_int8_carries_the_same_qdq_as_portable_int8(int8_models, demo_windows, fp32_outputs):
    models = {v: onnx.load(str(p)) for v, p in int8_models.items()}

    def qdq(model):
        init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        nodes = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
        return [init[n.input[1]] for n in nodes], [init[n.input[2]] for n in nodes]

    (plugin_scales, plugin_zeros), (portable_scales, portable_zeros) = (
        qdq(models["plugin"]),
        qdq(models["portable"]),
    )
    assert len(plugin_scales) == len(portable_scales) > 300
    for a, b in zip(plugin_scales, portable_scales, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(plugin_zeros, portable_zeros, strict=True))
    pattern = {v: [(n.op_type, i) for n, i in _quantized_in_order(m)] for v, m in models.items()}
    assert pattern["plugin"] == pattern["portable"]
    outputs = {v: model_outputs(p, demo_windows.held_out) for v, p in int8_models.items()}
    between = Difference.between(outputs["plugin"], outputs["portable"])
    # Stated tolerance: the variants' FP32 warps differ by ~2e-6, INT8 rounding flips amplify it
    # to at most the quantization noise itself (~39 dB vs FP32); measured 44 dB.
    assert between.psnr_db > 40 and between.max_abs < 0.1, between
    versus_fp32 = {
        v: Difference.between(fp32_outputs(v, demo_windows), out).psnr_db for v, out in outputs.items()
    }
    assert versus_fp32["portable"] > 35 and abs(versus_fp32["plugin"] - versus_fp32["portable"]) < 0.5


def _quantized_in_order(model):
    quantized = quantized_inputs(model)
    return [(n, tuple(quantized[n.name])) for n in model.graph.node if n.name in quantized]


def test_low_precision_models_stay_dynamic(exported, int8_models, fp16_plugin):
    """The tools saw static 128x128 shapes; the written graphs must still take any size."""
    frames = random_frames((1, 4, 3, 256, 128), seed=7)
    reference = model_outputs(exported["plugin"], frames)
    for path, floor in ((fp16_plugin, 55), (int8_models["plugin"], 30)):
        output = model_outputs(path, frames)
        assert output.shape == (1, 3, 256, 128)
        assert Difference.between(reference, output).psnr_db > floor, path.name


def test_fp32_inputs_are_never_touched(exported, fp32_digests, int8_models, fp16_plugin):
    assert {v: file_sha256(p) for v, p in exported.items()} == fp32_digests
    folder = exported["plugin"].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in exported.values())
    assert sorted(p.name for p in int8_models["plugin"].parent.iterdir() if p.name.startswith(".")) == []


def test_bad_requests_fail_before_any_work(exported, int8_models, demo_windows, tmp_path):
    plugin = exported["plugin"]
    with pytest.raises(UserError, match="precision must be one of"):
        make_precision_onnx(plugin, "int4", tmp_path / "x.onnx", calib=demo_windows)
    with pytest.raises(UserError, match="INT8 needs calibration windows"):
        make_precision_onnx(plugin, "int8", tmp_path / "x.onnx")
    with pytest.raises(UserError, match="no percentile"):
        make_precision_onnx(plugin, "int8", tmp_path / "x.onnx", calib=demo_windows, method="percentile")
    with pytest.raises(UserError, match=r"must end in \.onnx"):
        make_precision_onnx(plugin, "fp16", tmp_path / "x.engine")
    with pytest.raises(UserError, match="exists"):
        make_precision_onnx(plugin, "int8", int8_models["plugin"], calib=demo_windows)
    with pytest.raises(UserError, match=r"already a low-precision model \(int8\)"):
        make_precision_onnx(int8_models["plugin"], "int8", tmp_path / "x.onnx", calib=demo_windows)
    with pytest.raises(UserError, match="ONNX model not found"):
        make_precision_onnx(tmp_path / "missing.onnx", "fp16", tmp_path / "x.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_graph_that_is_not_ours_is_refused(tmp_path):
    weight = numpy_helper.from_array(np.ones((3, 3, 3, 3), np.float32), "w")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Conv", ["x", "w"], ["y"], name="/conv/Conv")],
        "g",
        [onnx.helper.make_tensor_value_info("x", FLOAT, [1, 3, 8, 8])],
        [onnx.helper.make_tensor_value_info("y", FLOAT, [1, 3, 6, 6])],
        [weight],
    )
    path = tmp_path / "other.onnx"
    onnx.save(onnx.helper.make_model(graph), str(path))
    with pytest.raises(UserError, match="cannot find the 6 warps"):
        make_precision_onnx(path, "fp16", tmp_path / "x.onnx")
