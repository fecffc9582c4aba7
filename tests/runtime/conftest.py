"""Fixtures shared by the TensorRT-path tests: the fake TensorRT and CUDA, installed."""

from __future__ import annotations

import sys

import pytest
from fake_cuda import FakeCuda
from fake_tensorrt import FakeTensorRT

from stmfnet_trt.plugins import trt_plugin_library_path


@pytest.fixture
def fakes(monkeypatch) -> tuple[FakeCuda, FakeTensorRT]:
    """(FakeCuda, FakeTensorRT) installed where the backend and the engine checks look for them."""
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
