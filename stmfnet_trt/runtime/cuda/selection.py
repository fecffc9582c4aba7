"""Which CUDA binding the TensorRT path uses: cuda-python or pycuda, chosen once per backend.

Stock JetPack images carry pycuda, pip installs get cuda-python: either drives the same
``CudaBinding`` interface. ``$STMFNET_CUDA_BINDING`` (or a backend option) picks one; otherwise the
first installed wins. Both binding modules import their CUDA package only when constructed, so
this module imports on any machine.
"""

from __future__ import annotations

import importlib.util
import os

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.cuda.binding import CudaBinding
from stmfnet_trt.runtime.cuda.cuda_python_binding import CudaPythonBinding
from stmfnet_trt.runtime.cuda.pycuda_binding import PycudaBinding

BINDING_ENV = "STMFNET_CUDA_BINDING"
BINDINGS = ("cuda-python", "pycuda")
_MODULES = {"cuda-python": "cuda.bindings", "pycuda": "pycuda"}


def available_bindings() -> list[str]:
    """The bindings whose module is installed, in order of preference."""
    found = []
    for name in BINDINGS:
        try:
            present = importlib.util.find_spec(_MODULES[name]) is not None
        except ModuleNotFoundError:  # "cuda" namespace absent
            present = False
        if present:
            found.append(name)
    return found


def select_binding(name: str | None = None) -> CudaBinding:
    """The binding named by ``name`` or ``$STMFNET_CUDA_BINDING``, else the first installed."""
    wanted = name or os.environ.get(BINDING_ENV) or None
    if wanted is not None and wanted not in BINDINGS:
        raise UserError(f"{BINDING_ENV} / binding must be one of {BINDINGS}, got {wanted!r}")
    installed = available_bindings()
    choice = wanted or (installed[0] if installed else None)
    if choice is None or choice not in installed:
        raise UserError(
            f"the tensorrt backend needs {choice or 'cuda-python or pycuda'}: "
            "pip install cuda-python (or use the pycuda that JetPack images carry)"
        )
    return PycudaBinding() if choice == "pycuda" else CudaPythonBinding()
