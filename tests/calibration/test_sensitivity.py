"""Per-group INT8 sensitivity, and the Q/DQ trimming it rests on."""

from __future__ import annotations

import json

import onnx
import pytest

from stmfnet_trt.calibration import CalibrationData, sensitivity_report
from stmfnet_trt.calibration.groups import HIDDEN_HEADS, OFFSET_HEADS, WEIGHT_HEADS, layer_group
from stmfnet_trt.calibration.qdq import keep_quantized, quantized_inputs
from stmfnet_trt.calibration.quality import model_outputs
from stmfnet_trt.calibration.sensitivity import ALL, ALL_DEFAULT
from stmfnet_trt.calibration.warp_region import find_warp_region
from stmfnet_trt.export.parity import Difference


@pytest.fixture(scope="module")
def report(exported, demo_windows):
    small = CalibrationData(demo_windows.calib[:2], demo_windows.held_out[:1])
    return sensitivity_report(exported["plugin"], small)


def test_every_group_gets_a_row_and_gridnet_costs_most(report):
    rows = {row.group: row for row in report.rows}
    assert set(rows) == {
        "feature extractor",
        HIDDEN_HEADS,
        WEIGHT_HEADS,
        OFFSET_HEADS,
        "GridNet",
        "3-D texture branch",
        ALL_DEFAULT,
        ALL,
    }
    groups = [row for row in report.rows if row.group not in (ALL, ALL_DEFAULT)]
    assert [row.psnr_db for row in groups] == sorted(row.psnr_db for row in groups)  # most harmful first
    # Measured with the random-stats weights: GridNet alone ~39 dB, every other group > 70 dB.
    assert groups[0].group == "GridNet" and 35 < groups[0].psnr_db < 45
    assert all(row.psnr_db > 60 for row in groups[1:])
    assert rows[OFFSET_HEADS].convs == 12 and rows[WEIGHT_HEADS].convs == 6
    assert rows[ALL].convs == rows[ALL_DEFAULT].convs + 12
    assert 35 < rows[ALL_DEFAULT].psnr_db < 45 and rows[ALL].psnr_db <= rows[ALL_DEFAULT].psnr_db + 0.5
    assert "GridNet" in report.render().splitlines()[2] and report.shape == (128, 128)
    assert json.loads(json.dumps(report.to_dict()))["method"] == "max"


def test_trimming_every_qdq_gives_fp32_back_and_trimming_none_changes_nothing(
    exported, int8_models, demo_windows, tmp_path
):
    fp32 = onnx.load(str(exported["plugin"]))
    quantized = onnx.load(str(int8_models["plugin"]))
    window = demo_windows.held_out[:1]
    none = tmp_path / "none.onnx"
    onnx.save(keep_quantized(quantized, fp32, []), str(none))
    assert not quantized_inputs(onnx.load(str(none)))
    assert (
        Difference.between(model_outputs(exported["plugin"], window), model_outputs(none, window)).max_abs
        < 1e-6
    )
    every = tmp_path / "every.onnx"
    onnx.save(keep_quantized(quantized, fp32, list(quantized_inputs(quantized))), str(every))
    assert (
        Difference.between(model_outputs(int8_models["plugin"], window), model_outputs(every, window)).max_abs
        == 0
    )


def test_fine_groups_split_by_module(exported):
    region = find_warp_region(onnx.load(str(exported["plugin"])))
    assert layer_group("/feature_extractor/conv2/resnext_small/conv1/Conv", region, fine=True) == (
        "feature extractor/conv2"
    )
    assert layer_group("/scale_synthesis/lateral_0_1/f/f.1/Conv", region) == "GridNet"
    assert layer_group(region.offset_convs[0], region, fine=True) == f"{OFFSET_HEADS}/ds"
    assert layer_group("/dyntex_generator/encoder/layer2/layer2.1/Add", region, fine=True) == (
        "3-D texture branch/encoder/layer2"
    )
