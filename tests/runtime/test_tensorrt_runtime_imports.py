"""The TensorRT runtime path imports without torch and stays Python 3.10 syntax."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.cuda import binding as cuda_binding
from stmfnet_trt.runtime.cuda import selection

RUNTIME_MODULES = [
    "stmfnet_trt.runtime.backends.tensorrt_backend",
    "stmfnet_trt.runtime.cuda.trt_pipeline",
    "stmfnet_trt.runtime.scheduling.frame_ring",
    "stmfnet_trt.runtime.cuda.binding",
    "stmfnet_trt.runtime.cuda.cuda_python_binding",
    "stmfnet_trt.runtime.cuda.pycuda_binding",
    "stmfnet_trt.engine.for_run",
    "stmfnet_trt.runtime.scheduling.video",
]


def test_runtime_path_imports_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any `import torch` now raises ImportError
        + "".join(f"import {name}\n" for name in RUNTIME_MODULES)
        + "assert sys.modules['torch'] is None, 'torch was replaced'\n"
        + "print('ok', len([m for m in sys.modules if m.startswith('stmfnet_trt')]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_runtime_modules_have_no_syntax_newer_than_python_310():
    """ruff's target is py310; this catches 3.11+ syntax (except*, PEP 695) ruff would not flag."""
    folder = Path(cuda_binding.__file__).parents[1]  # runtime/: backends, cuda, scheduling
    for path in folder.rglob("*.py"):
        ast.parse(path.read_text(), str(path), feature_version=(3, 10))


def test_binding_choice_by_name_env_and_installed(monkeypatch):
    monkeypatch.setattr(selection, "available_bindings", lambda: ["cuda-python"])
    monkeypatch.setenv(selection.BINDING_ENV, "pycuda")
    with pytest.raises(UserError, match="needs pycuda"):
        selection.select_binding()
    monkeypatch.setenv(selection.BINDING_ENV, "cupy")
    with pytest.raises(UserError, match="must be one of"):
        selection.select_binding()
    monkeypatch.delenv(selection.BINDING_ENV)
    assert selection.select_binding().name == "cuda-python"
    monkeypatch.setattr(selection, "available_bindings", lambda: [])
    with pytest.raises(UserError, match="cuda-python or pycuda"):
        selection.select_binding()
