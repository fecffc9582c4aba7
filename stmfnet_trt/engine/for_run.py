"""The engine for ``stmfnet-trt run --backend tensorrt`` without ``--engine``: export, build, cache.

The checkpoint is exported once (``cached_onnx``, plugin variant) and built through the engine
cache for a profile that covers this video's padded size and batch: classic TensorRT where it is
installed (it builds for the GPU it runs on), else TensorRT-RTX for this GPU's compute
capability. Failures are ``UserError``s that say what to do. The build itself needs a GPU; the
choices and errors are tested with the machine's availability patched
(tests/engine/test_engine_for_run.py).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from stmfnet_trt.core.contract import padded_size
from stmfnet_trt.core.errors import Param, UserError
from stmfnet_trt.core.flavours import RTX_TARGETS
from stmfnet_trt.engine.build import build_engine
from stmfnet_trt.engine.request import BuildRequest, ProfileShapes
from stmfnet_trt.export.cache import cached_onnx
from stmfnet_trt.plugins import trt_plugin_library_path
from stmfnet_trt.runtime.cuda.selection import select_binding

# TensorRT spells it "out of memory", "OUT_OF_MEMORY" (error code names) or "OutOfMemory" (RTX).
_OUT_OF_MEMORY = re.compile(r"out[ _]?of[ _]?memory", re.IGNORECASE)


def run_profile(height: int, width: int, batch_size: int) -> ProfileShapes:
    """Batches 1..batch_size of this video's padded frames (the last batch may be short)."""
    shape = (padded_size(height), padded_size(width))
    return ProfileShapes((1, *shape), (batch_size, *shape), (batch_size, *shape))


def choose_flavour(device: dict) -> tuple[str, list[int]]:
    """(flavour, RTX targets) for the GPU ``device`` describes; UserError where neither fits."""
    if importlib.util.find_spec("tensorrt") is not None:
        return "tensorrt", []
    sm = int(str(device["compute_capability"]).replace(".", ""))
    if importlib.util.find_spec("tensorrt_rtx") is None:
        raise UserError(
            "the tensorrt backend needs TensorRT: pip install 'stmfnet-trt[tensorrt]' (or tensorrt-rtx)"
        )
    if sm not in RTX_TARGETS:
        raise UserError(
            f"this GPU ({device['gpu']}, sm_{sm}) is not a TensorRT-RTX target {RTX_TARGETS}: "
            "install full TensorRT (pip install 'stmfnet-trt[tensorrt]', or JetPack's on Jetson)"
        )
    return "rtx", [sm]


def plugin_onnx(checkpoint: str | Path | None, *, progress: bool = True) -> Path:
    """The cached plugin-variant export of ``checkpoint``, exported on a miss.

    The lookup needs no torch (an install without it runs cached exports and engines); only an
    export does, and its absence is then said in one line (``export.cache.cached_onnx``).
    """
    return cached_onnx(checkpoint, "plugin", progress=progress)


def engine_for_run(
    checkpoint: str | Path | None, height: int, width: int, batch_size: int = 1, *, progress: bool = True
) -> Path:
    """Path of a cached engine for ``checkpoint`` (None: random init) at this frame size."""

    device = select_binding().device_info()  # UserError on a machine without a GPU
    flavour, targets = choose_flavour(device)
    plugin = trt_plugin_library_path()  # UserError naming `make plugins` when absent
    onnx = plugin_onnx(checkpoint, progress=progress)
    request = BuildRequest(
        flavour=flavour,
        onnx=str(onnx),
        plugin=str(plugin),
        profiles=[run_profile(height, width, batch_size)],
        **({"rtx_targets": targets} if targets else {}),
    )
    if progress:
        print(f"building the {flavour} engine for {width}x{height}, batch {batch_size} (cached)", flush=True)
    try:
        return build_engine(request, None).engine
    except UserError as error:
        if _OUT_OF_MEMORY.search(str(error)):
            raise UserError(
                error,
                f"\nThe GPU ran out of memory building for {width}x{height}: use a smaller ",
                Param("batch_size"),
                ", or tiling (",
                Param("tiles"),
                ") for large frames",
            ) from error
        raise
