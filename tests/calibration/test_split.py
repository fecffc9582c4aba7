"""The warp region of the variants TensorRT builds, and cutting it out and putting it back without a
trace; the cpu variant is refused."""

from __future__ import annotations

from collections import Counter

import onnx
import pytest

from stmfnet_trt.calibration.prepare import prepared_core
from stmfnet_trt.calibration.quality import model_outputs
from stmfnet_trt.calibration.warp_region import find_warp_region
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.warp_op import OP_NAME

TENSORRT_VARIANTS = ("plugin", "portable")


@pytest.fixture(scope="module")
def regions(exported):
    return {variant: find_warp_region(onnx.load(str(exported[variant]))) for variant in TENSORRT_VARIANTS}


def test_the_cpu_variant_is_refused_with_the_variant_to_use(exported):
    with pytest.raises(UserError, match=r"cpu export variant .*export --variant plugin"):
        find_warp_region(onnx.load(str(exported["cpu"])))


def test_the_region_is_the_warp_in_both_variants(exported, regions):
    ops = {}
    for variant in TENSORRT_VARIANTS:
        model = onnx.load(str(exported[variant]))
        ops[variant] = Counter(n.op_type for n in model.graph.node if n.name in regions[variant].nodes)
    # plugin: 6 warps, the 6 replicate pads of their images, 3 concats, the half-scale resizes
    assert ops["plugin"] == {OP_NAME: 6, "Pad": 6, "Concat": 3, "Resize": 2}
    # portable: the same around 25 taps x 4 corners of GatherElements per warp, softmax included
    assert ops["portable"]["GatherElements"] == 600 and ops["portable"]["Softmax"] == 6
    assert ops["portable"]["Cast"] == 24 and ops["portable"]["Pad"] == 6
    for region in regions.values():
        assert len(region.offset_convs) == 12 and len(region.weight_convs) == 6
        assert len(region.outputs) == 3 and len(region.inputs) == 24
        assert all("Alpha" in n or "Beta" in n for n in region.offset_convs)


def test_cutting_and_rejoining_without_conversion_is_exact(exported, demo_windows):
    """Plugin only (the portable variant's rejoin is exercised by its FP16 and INT8 tests)."""
    path = exported["plugin"]
    with prepared_core(path, demo_windows.calib) as prepared:
        rejoined = prepared.work / "rejoined.onnx"
        onnx.save(prepared.rejoin(prepared.core), str(rejoined))
        windows = demo_windows.held_out[:1]
        assert (model_outputs(rejoined, windows) == model_outputs(path, windows)).all()
        assert not {n.name for n in prepared.core.graph.node} & prepared.region.nodes
        core_inputs = [i.name for i in prepared.core.graph.input]
        assert core_inputs[4:] == list(prepared.region.outputs)  # frames, then the warped frames
