"""Per-layer profile summaries: TensorRT layer names mapped back to the network's parts."""

from __future__ import annotations

import importlib.util

import pytest

from stmfnet_trt.bench.layers import OTHER, REFORMAT, layer_part, part_shares, render, summarize
from stmfnet_trt.cli import main

WARP = "warp (AdaptiveWarp plugin)"


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("/AdaptiveWarp_3", WARP),
        ("/feature_extractor/conv1/Conv + /feature_extractor/relu/Relu", "feature extractor"),
        ("{ForeignNode[/scale_synthesis/lateral_0_0/Conv.../scale_synthesis/Add_3]}", "GridNet synthesis"),
        ("/moduleAlpha1_us/moduleAlpha1_us.7/Conv", "kernel/offset heads"),
        ("/upsampler_1/ConvTranspose", "upsamplers"),
        ("/dyntex_generator/conv3d/Conv", "3-D texture branch"),
        ("Reformatting CopyNode for Input Tensor 0 to /AdaptiveWarp", REFORMAT),
        ("/Shape_3", OTHER),
        # ONNX Runtime node names (bench/ort_profile.py): NCHWc reorders and converted convs
        ("ReorderInput_token_454", REFORMAT),
        ("/scale_synthesis/lateral_0_1/f/f.1/Conv_output_0_nchwc", "GridNet synthesis"),
    ],
)
def test_layer_names_map_to_network_parts(name, part):
    assert layer_part(name) == part


def test_summary_takes_medians_and_shares_and_renders_the_warp_by_name():
    samples = {
        "/AdaptiveWarp": [1.0, 9.0, 1.2],  # one outlier: the median ignores it
        "/AdaptiveWarp_1": [0.8, 0.8, 0.8],
        "/scale_synthesis/Conv": [2.0, 2.0, 2.1],
        "/Shape": [],
    }
    layers = summarize(samples)
    assert [layer.name for layer in layers] == ["/scale_synthesis/Conv", "/AdaptiveWarp", "/AdaptiveWarp_1"]
    assert layers[1].median_ms == 1.2 and layers[0].share == pytest.approx(2.0 / 4.0)
    shares = part_shares(layers)
    assert list(shares) == ["GridNet synthesis", WARP] and shares[WARP] == (pytest.approx(2.0), 2)
    text = render(layers, top=2)
    assert f"| {WARP} | 2 | 2.000 | 50.0 % |" in text
    assert "slowest 2 layers" in text and "`/AdaptiveWarp_1`" not in text


def test_layers_needs_engines(capsys):
    assert main(["bench", "--backends", "blend", "--sizes", "64x64", "--iterations", "1", "--layers"]) == 2
    assert "--layers profiles TensorRT engines" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None, reason="needs the tensorrt module")
def test_engine_profile_reports_six_warp_layers(exported, tmp_path):
    from stmfnet_trt.bench.layers import profile_engine
    from stmfnet_trt.core.frames import random_frames
    from stmfnet_trt.engine.build import build_engine
    from stmfnet_trt.engine.request import BuildRequest, ProfileShapes
    from stmfnet_trt.plugins import trt_plugin_library_path

    request = BuildRequest(
        flavour="tensorrt",
        onnx=str(exported["plugin"]),
        plugin=str(trt_plugin_library_path()),
        profiles=[ProfileShapes.parse("1x256x256:1x256x256:1x256x256")],
    )
    engine = build_engine(request, tmp_path / "model.plan").engine
    layers = summarize(profile_engine(engine, random_frames((1, 4, 3, 256, 256), seed=0), 3))
    assert part_shares(layers)[WARP][1] == 6 and all(layer.median_ms >= 0 for layer in layers)
