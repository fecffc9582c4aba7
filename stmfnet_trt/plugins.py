"""Find and load the compiled AdaptiveWarp libraries (``plugins/adaptive_warp``).

Two shared libraries implement the model's custom warp op outside PyTorch:

* ``libstmfnet_trt_plugins.so``: the TensorRT plugin (IPluginV3, CUDA kernel), loaded into a
  ``tensorrt`` / ``tensorrt_lean`` / ``tensorrt_rtx`` plugin registry by :func:`load_trt_plugin`
  so engines with an ``AdaptiveWarp`` layer can be built and deserialized;
* ``libstmfnet_trt_ort_ops.so``: the ONNX Runtime CPU custom op, registered on session options by
  :func:`register_ort_ops`, so the plugin variant of the ONNX export runs without a GPU.

The plugin library also exports the CUDA kernel through a C ABI (:func:`load_cuda_warp_launcher`),
so tests and benchmarks can run it on framework tensors where TensorRT is not installed.

Both are found in this order: an environment variable (``STMFNET_TRT_PLUGIN_LIB``,
``STMFNET_TRT_ORT_OPS_LIB``: an explicit choice wins), the package's ``_lib/`` (where the build
copies them, and what a wheel ships), then the repository's ``build/`` (a developer checkout).
This module imports neither torch nor TensorRT: callers pass the TensorRT module they use.

Where the ORT op library is missing or does not load, :func:`default_ort_variant` picks the
portable graph and says so once: a silent fallback would cost users 3-5x the time unnoticed.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.signals import one_line
from stmfnet_trt.core.warp_op import OP_NAME, PLUGIN_NAMESPACE, PLUGIN_VERSION

TRT_PLUGIN_LIB_NAME = "libstmfnet_trt_plugins.so"
ORT_OPS_LIB_NAME = "libstmfnet_trt_ort_ops.so"
TRT_PLUGIN_ENV = "STMFNET_TRT_PLUGIN_LIB"
ORT_OPS_ENV = "STMFNET_TRT_ORT_OPS_LIB"

_PACKAGE_LIB_DIR = Path(__file__).resolve().parent / "_lib"
_REPO_BUILD_DIR = Path(__file__).resolve().parent.parent / "build"
_BUILD_HINT = (
    "install a stmfnet-trt wheel, which carries it (docs/install.md), or build it with `make plugins` "
    "(cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2), see "
    "plugins/adaptive_warp/README.md"
)
# What the portable graph costs against the cpu graph (bench/RESULTS.md, section cpu: ORT portable
# vs ORT CPU ops, 2 threads: 3.54 / 1.20 s at 256x256, 51.5 / 11.1 s and 3.59 / 1.62 GB at 544x960).
PORTABLE_COST = "~3x slower per 256x256 frame, ~4.6x at 544x960, ~2.2x the peak memory (bench/RESULTS.md)"

# TensorRT module name -> library loaded into that module's registry. A registry refuses to load
# the same library twice (load_library returns None), so each process loads it once per module.
_loaded: dict[str, Path] = {}
_load_lock = threading.Lock()


class PluginLibraryError(UserError):
    """A compiled AdaptiveWarp library is missing or cannot be loaded by the given runtime."""


def _find_library(file_name: str, env_var: str) -> Path:
    """Resolve a library by the search order in the module docstring."""
    override = os.environ.get(env_var)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise PluginLibraryError(f"{env_var}={override} does not name a file")
        return path.resolve()
    for directory in (_PACKAGE_LIB_DIR, _REPO_BUILD_DIR):
        candidate = directory / file_name
        if candidate.is_file():
            return candidate
    raise PluginLibraryError(
        f"{file_name} not found (looked in ${env_var}, {_PACKAGE_LIB_DIR}, {_REPO_BUILD_DIR}): {_BUILD_HINT}"
    )


def trt_plugin_library_path() -> Path:
    """Path of the TensorRT plugin library; raises PluginLibraryError with build instructions."""
    return _find_library(TRT_PLUGIN_LIB_NAME, TRT_PLUGIN_ENV)


def ort_op_library_path() -> Path:
    """Path of the ONNX Runtime custom-op library; raises PluginLibraryError with build instructions."""
    return _find_library(ORT_OPS_LIB_NAME, ORT_OPS_ENV)


def register_ort_ops(session_options: Any) -> Path:
    """Register the AdaptiveWarp CPU op on ``onnxruntime.SessionOptions``; returns the library path.

    Needed for every session that runs the plugin variant of an export (domain ``ai.stmfnet_trt``).
    A library that ONNX Runtime rejects (another architecture, a damaged file, an API version this
    runtime lacks) raises PluginLibraryError like a missing one, so callers fall back alike.
    """
    path = ort_op_library_path()
    try:
        session_options.register_custom_ops_library(str(path))
    except Exception as exc:  # ORT raises its own types (Fail, RuntimeError) for a library it rejects
        reason = one_line(str(exc))
        raise PluginLibraryError(f"ONNX Runtime cannot load {path} ({reason}): {_BUILD_HINT}") from exc
    return path


@functools.cache
def default_ort_variant() -> str:
    """``cpu`` (our ORT ops: the fastest graph) where the op library loads into ONNX Runtime, else
    ``portable`` (standard ops), said once per process on stderr with its cost and the remedy."""
    import onnxruntime as ort

    try:
        register_ort_ops(ort.SessionOptions())
    except PluginLibraryError as problem:
        print(
            f"WARNING: {problem}. Running the portable ONNX graph (standard ops) instead: {PORTABLE_COST}.",
            file=sys.stderr,
        )
        return "portable"
    return "cpu"


def load_cuda_warp_launcher() -> Callable[..., int]:
    """``stmfnet_adaptive_warp_launch`` of the plugin library, with its ctypes signature.

    Call it as ``launch(image, weight, off_v, off_h, out, B, C, H, W, K, dilation, softmax, dtype,
    stream)`` with device pointers (ints) of contiguous NCHW tensors, dtype 0 = float32 / 1 = float16
    and a ``cudaStream_t`` (int or None). It returns a ``cudaError_t`` value (0 = launched; 1 = bad
    sizes, attributes or dtype, refused before any CUDA call) and does not synchronise.
    """
    launch = ctypes.CDLL(str(trt_plugin_library_path())).stmfnet_adaptive_warp_launch
    launch.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_int] * 8 + [ctypes.c_void_p]
    launch.restype = ctypes.c_int
    return launch


def load_trt_plugin(trt_module: ModuleType) -> Path:
    """Load the plugin library into ``trt_module``'s plugin registry (once per process).

    ``trt_module`` is the imported ``tensorrt``, ``tensorrt_lean`` or ``tensorrt_rtx``. Returns the
    library path (pass it as ``plugins_to_serialize`` to embed the plugin in an engine). Raises
    PluginLibraryError when the library is missing, fails to load, or does not provide the
    ``AdaptiveWarp`` creator (for example when it was built against another TensorRT major version).
    """
    key = trt_module.__name__
    with _load_lock:
        if key in _loaded:
            return _loaded[key]
        path = trt_plugin_library_path()
        registry = trt_module.get_plugin_registry()
        # None also when this process loaded the file before through another path: the creator
        # lookup below is what decides.
        registry.load_library(str(path))
        creator = registry.get_creator(OP_NAME, PLUGIN_VERSION, PLUGIN_NAMESPACE)
        if creator is None:
            version = getattr(trt_module, "__version__", "unknown version")
            raise PluginLibraryError(
                f"{key} {version} did not register plugin {OP_NAME} v{PLUGIN_VERSION} "
                f"(namespace {PLUGIN_NAMESPACE}) from {path}: the library failed to load or was built "
                f"against another TensorRT major version; rebuild it against this TensorRT with "
                f"-DTENSORRT_ROOT=<its install dir> (see plugins/adaptive_warp/README.md)"
            )
        _loaded[key] = path
        return path
