"""The two TensorRT flavours we build for, and what each needs from this machine.

* ``tensorrt`` (classic): Jetson and data-center GPUs; builds for the GPU it runs on (needs one).
* ``rtx`` (TensorRT for RTX): GeForce/RTX desktops and laptops; builds ahead of time for chosen
  compute capabilities with no GPU present, and specialises at first run on the user's card.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from stmfnet_trt.core.cache import cache_root
from stmfnet_trt.core.errors import ParameterError
from stmfnet_trt.core.flavours import FLAVOUR_MODULES

INSTALL_HINTS = {
    "tensorrt": "pip install 'stmfnet-trt[tensorrt]' (full TensorRT; needs an NVIDIA GPU and driver)",
    "rtx": "pip install tensorrt-rtx-cu13 (TensorRT for RTX; builds engines without a GPU)",
}


def missing_flavour(flavour: str) -> ParameterError | None:
    """Why the flavour cannot build here (its Python module is not installed), or None.

    An error rather than a string so that a caller quoting it in its own message keeps the
    parameter (``UserError(reason, ". ...")``: the CLI shows it as ``--target``).
    """
    if importlib.util.find_spec(FLAVOUR_MODULES[flavour]) is None:
        return ParameterError(
            "flavour", f"{flavour} needs the {FLAVOUR_MODULES[flavour]} module: {INSTALL_HINTS[flavour]}"
        )
    return None


def require_flavour(flavour: str) -> None:
    """Fail clearly when the flavour's Python module is not installed."""
    reason = missing_flavour(flavour)
    if reason is not None:
        raise reason


def _rtx_library_dir() -> Path | None:
    """A folder holding the unversioned ``libtensorrt_rtx.so`` that the wheel lacks.

    The ONNX parser dlopens that name for plugin nodes and aborts the process without it; the
    wheel ships only ``libtensorrt_rtx.so.1``, so a symlink in our cache supplies the name.
    """
    spec = importlib.util.find_spec("tensorrt_rtx_libs")
    if spec is None or not spec.submodule_search_locations:
        return None
    versioned = Path(next(iter(spec.submodule_search_locations))) / "libtensorrt_rtx.so.1"
    if not versioned.is_file():
        return None
    folder = cache_root() / "tensorrt_rtx_libs"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "libtensorrt_rtx.so"
    if not link.exists() or link.resolve() != versioned.resolve():
        temp = folder / f".link-{os.getpid()}"
        temp.unlink(missing_ok=True)
        temp.symlink_to(versioned)
        temp.replace(link)
    return folder


def worker_environment(flavour: str) -> dict[str, str]:
    """Environment for the build worker (library path fix-ups per flavour)."""
    env = dict(os.environ)
    if flavour == "rtx":
        folder = _rtx_library_dir()
        if folder is not None:
            env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(folder), env.get("LD_LIBRARY_PATH")]))
    return env
