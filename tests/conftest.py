"""Shared fixtures and the GPU/TensorRT markers.

Tests that need a GPU or full TensorRT are marked and skip with a reason on machines without
them; everything else runs on a CPU-only machine from the committed data in ``tests/data``.

``tests/support`` goes on ``sys.path`` here, so the helpers shared by several folders (the fakes
of CUDA, TensorRT and pycuda, the cubic backend, synthetic media) import by name from any test.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
ASSETS = Path(__file__).parent.parent / "assets"
SUPPORT = Path(__file__).parent / "support"
# A folder holding {variant}.onnx exports of the random-stats fixture, made by a parent test run.
EXPORTS_ENV = "STMFNET_TEST_EXPORTS"

sys.path.insert(0, str(SUPPORT))


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def _tensorrt_available() -> bool:
    return importlib.util.find_spec("tensorrt") is not None and _cuda_available()


def pytest_configure(config: pytest.Config) -> None:
    """Flush denormals in torch: the random-stats test weights produce many, and x86 handles
    each in microcode (a 256x384 reference forward measured 44 s -> 18 s on a loaded 2-core
    machine). Values below 1e-38 are zeroed; every tolerance here is >= 1e-7."""
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_flush_denormal(True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_gpu = pytest.mark.skip(reason="needs an NVIDIA GPU with CUDA; none is visible to torch here")
    skip_trt = pytest.mark.skip(reason="needs full TensorRT (tensorrt module) and a GPU; not installed here")
    skip_slow = pytest.mark.skip(reason="takes many minutes on 2 cores; run with STMFNET_RUN_SLOW=1")
    has_gpu, has_trt = _cuda_available(), _tensorrt_available()
    run_slow = os.environ.get("STMFNET_RUN_SLOW") == "1"
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip_gpu)
        if "tensorrt" in item.keywords and not has_trt:
            item.add_marker(skip_trt)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    return ASSETS


@pytest.fixture(scope="session")
def warp_cases() -> dict[str, np.ndarray]:
    with np.load(DATA / "warp_cases.npz") as cases:
        return dict(cases)


@pytest.fixture(scope="session")
def golden_init() -> dict[str, np.ndarray]:
    with np.load(DATA / "student_random_init.npz") as golden:
        return dict(golden)


@pytest.fixture(scope="session")
def golden_stats() -> dict[str, np.ndarray]:
    with np.load(DATA / "student_random_stats.npz") as golden:
        return dict(golden)


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> dict[str, Path]:
    """Every ONNX variant of the random-stats fixture, exported once per test session.

    The random-stats checkpoint has strong heads and non-default norms, so parity on it means
    something; the export itself already checks parity at 256x384.
    """
    from stmfnet_trt.core.contract import VARIANTS

    if os.environ.get(EXPORTS_ENV):  # a torch-free child run: the parent exported them (test_torch_free)
        return {variant: Path(os.environ[EXPORTS_ENV]) / f"{variant}.onnx" for variant in VARIANTS}
    from stmfnet_trt.export.exporter import ExportOptions, export_onnx

    folder = tmp_path_factory.mktemp("onnx")
    return {
        variant: export_onnx(
            DATA / "student_random_stats.pth", folder / f"{variant}.onnx", ExportOptions(variant=variant)
        ).path
        for variant in VARIANTS
    }


@pytest.fixture
def fakes(monkeypatch):
    """(FakeCuda, FakeTensorRT) installed where the backend and the engine checks look for them."""
    from fake_cuda import FakeCuda
    from fake_tensorrt import FakeTensorRT

    from stmfnet_trt.plugins import trt_plugin_library_path

    cuda = FakeCuda("compute-first")
    trt = FakeTensorRT(cuda)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(
        "stmfnet_trt.runtime.backends.tensorrt_backend.select_binding", lambda name=None: cuda
    )
    monkeypatch.setattr("stmfnet_trt.runtime.cuda.memory.select_binding", lambda name=None: cuda)
    # The registry step is TensorRT's: the fake returns the library path, as load_trt_plugin does.
    monkeypatch.setattr(
        "stmfnet_trt.runtime.backends.tensorrt_backend.load_trt_plugin",
        lambda module: trt_plugin_library_path(),
    )
    return cuda, trt


@pytest.fixture
def frame_folder(tmp_path: Path) -> Callable[[str, Sequence[np.ndarray]], Path]:
    """Writes frames into tmp_path/<name> and returns the folder."""
    from synthetic_media import write_frames

    return lambda name, frames: write_frames(tmp_path / name, frames)
