"""The ORT backend pads to the export contract and crops, and agrees with the torch backend."""

from __future__ import annotations

import numpy as np
import pytest

from stmfnet_trt.core.contract import pad_to_multiple
from stmfnet_trt.core.errors import InputError
from stmfnet_trt.core.frames import random_frames
from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions
from stmfnet_trt.runtime.backends.torch_backend import TorchBackend, TorchOptions


def test_pad_to_multiple_reflects_bottom_right():
    frames = np.arange(2 * 72 * 136, dtype=np.float32).reshape(1, 2, 72, 136)
    padded = pad_to_multiple(frames)
    assert padded.shape == (1, 2, 128, 256)
    assert np.array_equal(padded[..., :72, :136], frames)
    assert np.array_equal(padded[..., 72, :136], frames[..., 70, :])


@pytest.mark.parametrize("variant", ["plugin", "portable"])
def test_matches_torch_backend_on_an_unpadded_size(exported, data_dir, variant):
    pytest.importorskip(
        "torch", reason="compares with the PyTorch reference (tests/test_torch_free.py runs without)"
    )
    windows = random_frames((2, 4, 3, 72, 136), seed=5)
    torch_out = TorchBackend(TorchOptions(checkpoint=data_dir / "student_random_stats.pth")).interpolate(
        windows
    )
    with OnnxRuntimeBackend(OnnxRuntimeOptions(model=exported[variant], threads=2)) as backend:
        ort_out = backend.interpolate(windows)
    assert ort_out.shape == (2, 3, 72, 136)
    assert np.abs(ort_out - torch_out).max() <= 1e-4


def test_wrong_rank_is_refused_before_ort(exported):
    backend = OnnxRuntimeBackend(OnnxRuntimeOptions(model=exported["portable"]))
    with pytest.raises(InputError, match=r"shape \(N, 4, 3, H, W\)"):
        backend.interpolate(np.zeros((4, 3, 128, 128), np.float32))


def test_lean_path_imports_neither_torch_nor_onnx(exported):
    """The ORT backend runs an export with the core install only (numpy, onnxruntime)."""
    import subprocess
    import sys

    script = (
        "import sys, numpy as np\n"
        "from stmfnet_trt.runtime.backends.onnxruntime_backend import (\n"
        "    OnnxRuntimeBackend, OnnxRuntimeOptions)\n"
        f"backend = OnnxRuntimeBackend(OnnxRuntimeOptions(model={str(exported['plugin'])!r}, threads=1))\n"
        "out = backend.interpolate(np.full((1, 4, 3, 128, 128), 0.5, np.float32))\n"
        "assert out.shape == (1, 3, 128, 128)\n"
        "print(sorted(m for m in ('torch', 'onnx') if sys.modules.get(m) is not None))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("variant", ["plugin", "cpu"])
def test_custom_op_graph_without_the_op_library_says_what_to_do(exported, monkeypatch, variant):
    from stmfnet_trt import plugins
    from stmfnet_trt.core.errors import UserError

    def missing():
        raise plugins.PluginLibraryError("libstmfnet_trt_ort_ops.so not found; build it with `make plugins`.")

    monkeypatch.setattr(plugins, "ort_op_library_path", missing)
    with pytest.raises(UserError, match=r"uses our custom ops .*not built.*make plugins.*portable variant"):
        OnnxRuntimeBackend(OnnxRuntimeOptions(model=exported[variant]))
