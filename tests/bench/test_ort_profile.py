"""bench/ort_profile.py's trace summary: warm-up excluded, sums by op type and by network part."""

from __future__ import annotations

import numpy as np
import pytest
from bench_scripts import bench_script


@pytest.fixture(scope="module")
def ort_profile():
    with bench_script("ort_profile") as module:
        yield module


GRID_CONV = "/scale_synthesis/lateral_0_0/f/f.1/Conv"
HEAD_CONV = "/moduleWeight1_us/moduleWeight1_us.7/Conv"
SHAPES = {  # input, weight, output as ORT's profiler records them
    GRID_CONV: ([1, 32, 64, 64], [32, 32, 3, 3], [1, 32, 64, 64]),  # 2 * 9216 * 4096 = 0.0755 GFLOP
    HEAD_CONV: ([1, 32, 32, 32], [25, 32, 3, 3], [1, 25, 32, 32]),  # 2 * 7200 * 1024 = 0.0147 GFLOP
    "/dyntex_generator/up/ConvTranspose": ([2, 16, 8, 8], [16, 8, 4, 4], [2, 8, 16, 16]),  # input positions
}


def node(name: str, op: str, ts: int, dur: int) -> dict:
    args: dict = {"op_name": op}
    if name in SHAPES:
        source, weight, output = SHAPES[name]
        args["input_type_shape"] = [{"float": source}, {"float": weight}]
        args["output_type_shape"] = [{"float": output}]
    return {"cat": "Node", "name": f"{name}_kernel_time", "ts": ts, "dur": dur, "args": args}


def run_event(ts: int, dur: int) -> dict:
    return {"cat": "Session", "name": "model_run", "ts": ts, "dur": dur}


def test_trace_summary_by_op_type_and_part(ort_profile):
    events = [
        run_event(0, 9000),  # warm-up: its nodes are left out
        node(GRID_CONV, "Conv", 10, 8000),
        run_event(10_000, 5000),
        node(GRID_CONV, "Conv", 10_010, 2000),
        node(HEAD_CONV, "Conv", 10_020, 1000),
        node("/AdaptiveWarp", "AdaptiveWarp", 10_030, 1500),
        node("ReorderInput_token_1", "ReorderInput", 10_040, 500),
        run_event(20_000, 7000),
        node(GRID_CONV, "Conv", 20_010, 4000),
        node(HEAD_CONV, "Conv", 20_020, 1000),
        node("/AdaptiveWarp", "AdaptiveWarp", 20_030, 1500),
        node("ReorderInput_token_1", "ReorderInput", 20_040, 500),
    ]
    profile = ort_profile.summarize_trace(events, runs=2, size="8x8")
    assert profile.wall_ms_per_run == pytest.approx(6.0)  # (5 + 7) ms / 2, warm-up excluded
    assert profile.kernel_ms_per_run == pytest.approx(6.0)  # (5 + 7) ms of kernels / 2
    by_type = {row.op_type: (row.nodes, row.ms_per_run) for row in profile.op_types}
    assert by_type == {"Conv": (2, 4.0), "AdaptiveWarp": (1, 1.5), "ReorderInput": (1, 0.5)}
    by_part = [(row.op_type, row.ms_per_run) for row in profile.parts]
    assert by_part == [
        ("GridNet synthesis", 3.0),
        ("warp (AdaptiveWarp plugin)", 1.5),
        ("kernel/offset heads", 1.0),
        ("reformat / copies", 0.5),
    ]
    assert sum(row.share for row in profile.parts) == pytest.approx(1.0)
    text = ort_profile.render(profile, top=2)
    assert "| network part | nodes | ms/run |" in text and "| other (2) | 2 | 1.5 | 25.0% |" in text


def test_convolution_arithmetic_peak_and_floor(ort_profile):
    up = node("/dyntex_generator/up/ConvTranspose", "ConvTranspose", 0, 1)
    transposed = ort_profile.conv_gflop(up["args"])
    assert transposed == pytest.approx(2 * 16 * 8 * 16 * 2 * 64 / 1e9)  # weights x input positions x batch
    blocked = node(GRID_CONV, "Conv", 0, 1)["args"]
    blocked["output_type_shape"] = [{"float": [1, 4, 64, 64, 8]}]  # NCHWc: the block dim is not spatial
    assert ort_profile.conv_gflop(blocked) == pytest.approx(2 * 9216 * 4096 / 1e9)
    events = [run_event(0, 1000)]
    for start in (10_000, 30_000):  # two profiled runs, the same each time
        events += [
            run_event(start, 10_000),
            node(GRID_CONV, "Conv", start + 10, 3000),  # 0.0755 GFLOP in 3 ms: 25.2 GFLOP/s
            node(HEAD_CONV, "Conv", start + 20, 1000),  # 0.0147 GFLOP in 1 ms: too short to set the peak
            node("/AdaptiveWarp", "AdaptiveWarp", start + 30, 6000),
        ]
    profile = ort_profile.summarize_trace(events, runs=2, size="64x64")
    grid, head = 2 * 9216 * 4096 / 1e9, 2 * 7200 * 1024 / 1e9
    assert profile.conv_gflop == pytest.approx(grid + head)
    assert profile.peak_conv_gflops == pytest.approx(grid / 3e-3)
    assert profile.floor_ms == pytest.approx(6.0 + (grid + head) / (grid / 3.0))  # warp as measured
    text = ort_profile.render(profile, top=5)
    assert "| Conv | 2 | 4.0 | 40.0% | 0.09 | 23 |" in text and "a run would take 10 ms" in text  # 6 + 3.6


def test_no_floor_without_a_conv_node_long_enough_to_time(ort_profile):
    events = [run_event(0, 1000), run_event(10_000, 2000), node(HEAD_CONV, "Conv", 10_010, 1000)]
    profile = ort_profile.summarize_trace(events, runs=1, size="32x32")  # 1 ms: below MIN_PEAK_NODE_MS
    assert profile.peak_conv_gflops == 0.0 and profile.floor_ms is None
    assert "Floor" not in ort_profile.render(profile, top=5)


DECODER_UPCONV = "/dyntex_generator/decoder.1/upconv/upconv.0/ConvTranspose"


def prepacked_upconv(ts: int, dur: int) -> dict:
    """A group-1 ConvTranspose as ORT's CPU profiler records it: the weight was pre-packed and
    freed, so the recorded inputs are the activation and the bias only."""
    args = {
        "op_name": "ConvTranspose",
        "input_type_shape": [{"float": [5, 192, 32, 32]}, {"float": [24]}],
        "output_type_shape": [{"float": [5, 24, 64, 64]}],
    }
    return {"cat": "Node", "name": f"{DECODER_UPCONV}_kernel_time", "ts": ts, "dur": dur, "args": args}


def test_prepacked_transposed_conv_counts_the_model_weight(ort_profile):
    args = prepacked_upconv(0, 1)["args"]
    with pytest.raises(ValueError, match="pre-packed"):  # not ~0 GFLOP from the bias's shape
        ort_profile.conv_gflop(args)
    full = 2 * 5 * (192 * 24 * 4 * 4) * (32 * 32) / 1e9  # batch x weights x input positions: 0.755
    assert ort_profile.conv_gflop(args, [192, 24, 4, 4]) == pytest.approx(full)
    events = [run_event(0, 1000), run_event(10_000, 5000), prepacked_upconv(10_010, 4000)]
    profile = ort_profile.summarize_trace(
        events, runs=1, size="256x256", weights={DECODER_UPCONV: [192, 24, 4, 4]}
    )
    (row,) = profile.op_types
    assert (row.op_type, row.gflop) == ("ConvTranspose", pytest.approx(full))
    assert profile.parts[0].gflop == pytest.approx(full)


def test_conv_weights_come_from_initializers(ort_profile, tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.zeros((192, 24, 4, 4), np.float32), "w")
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w"], ["y"], name=DECODER_UPCONV, kernel_shape=[4, 4]),
        helper.make_node("Conv", ["y", "runtime_w"], ["z"], name="/conv_fed_at_run_time"),  # recorded by ORT
        helper.make_node("Relu", ["z"], ["out"], name="/relu"),
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 192, 8, 8]),
        helper.make_tensor_value_info("runtime_w", TensorProto.FLOAT, [4, 24, 3, 3]),
    ]
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, None)
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", inputs, [output], [weight])), str(path))
    assert ort_profile.conv_weights(path) == {DECODER_UPCONV: [192, 24, 4, 4]}
