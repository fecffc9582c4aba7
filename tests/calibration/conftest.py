"""Shared, session-scoped data of the precision tests: windows from the bundled clips and the
low-precision models built from the random-stats fixture (``exported``, tests/conftest.py).

Everything runs at 128x128 with few windows so that the directory stays within minutes on two
cores: each FP16 build is ~10-20 s, each INT8 build ~15 s, each gate a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stmfnet_trt.calibration import load_calibration_windows, make_precision_onnx
from stmfnet_trt.calibration.quality import model_outputs
from stmfnet_trt.model.checkpoint import file_sha256

SHAPE = (128, 128)


@pytest.fixture(scope="session")
def demo_windows(assets_dir: Path):
    """Big Buck Bunny: 3 calibration + 2 held-out windows (the INT8 data)."""
    return load_calibration_windows(assets_dir / "demo.mp4", 3, shape=SHAPE, held_out=2)


@pytest.fixture(scope="session")
def carphone_windows(assets_dir: Path):
    """carphone: 2 windows for FP16's magnitude rule + 2 held-out windows."""
    return load_calibration_windows(assets_dir / "carphone_12.mp4", 2, shape=SHAPE, held_out=2)


@pytest.fixture(scope="session")
def precision_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("precision")


@pytest.fixture(scope="session")
def fp32_digests(exported) -> dict[str, str]:
    """sha256 of the FP32 exports before any precision pass read them."""
    return {variant: file_sha256(path) for variant, path in exported.items()}


@pytest.fixture(scope="session")
def int8_models(exported, fp32_digests, demo_windows, precision_dir) -> dict[str, Path]:
    """Both variants in INT8, calibrated (max) on the same demo windows."""
    return {
        variant: make_precision_onnx(
            exported[variant], "int8", precision_dir / f"{variant}_int8.onnx", calib=demo_windows
        )
        for variant in ("plugin", "portable")
    }


@pytest.fixture(scope="session")
def fp16_plugin(exported, fp32_digests, carphone_windows, precision_dir) -> Path:
    return make_precision_onnx(
        exported["plugin"], "fp16", precision_dir / "plugin_fp16.onnx", calib=carphone_windows
    )


@pytest.fixture(scope="session")
def fp32_outputs(exported):
    """FP32 outputs of a variant on a data set's held-out windows, computed once."""
    cache: dict[tuple[str, int], np.ndarray] = {}

    def outputs(variant: str, data) -> np.ndarray:
        key = (variant, id(data))
        if key not in cache:
            cache[key] = model_outputs(exported[variant], data.held_out)
        return cache[key]

    return outputs
