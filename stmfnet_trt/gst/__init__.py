"""The GStreamer element ``stmfnetinterp`` (``element.py``) and where GStreamer finds it.

Layout, and why: GStreamer's Python loader only looks for ``python/NAME.py`` under the folders
on ``GST_PLUGIN_PATH``, so this package holds that folder (``python/stmfnetinterp.py``, a shim)
next to the element module; ``GST_PLUGIN_PATH`` is this package's folder, which an editable or a
regular install both have. The loader embeds the system's Python (Debian's 3.11 with
``python3-gst-1.0``), so the environment's own packages (numpy, PyAV, onnxruntime) come in
through ``PYTHONPATH``: ``python -m stmfnet_trt.gst`` prints both settings for the environment
that runs it. The Python versions must match (the wheels are built for one).
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

ELEMENT = "stmfnetinterp"


def plugin_dir() -> Path:
    """The folder to put on ``GST_PLUGIN_PATH`` (it holds ``python/stmfnetinterp.py``)."""
    return Path(__file__).resolve().parent


def environment() -> dict[str, str]:
    """``GST_PLUGIN_PATH`` and ``PYTHONPATH`` that make the element load with this environment's
    packages in the system Python the plugin loader embeds."""
    paths = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    return {"GST_PLUGIN_PATH": str(plugin_dir()), "PYTHONPATH": ":".join(paths)}
