"""The GStreamer element ``stmfnetinterp`` (``element.py``) and where GStreamer finds it.

Layout, and why: GStreamer's Python loader only looks for ``python/NAME.py`` under the folders
on ``GST_PLUGIN_PATH``, so this package holds that folder (``python/stmfnetinterp.py``, a shim)
next to the element module; ``GST_PLUGIN_PATH`` is this package's folder, which an editable or a
regular install both have. The loader embeds the system's Python (Debian's 3.11 with
``python3-gst-1.0``), so the environment's own packages (numpy, PyAV, onnxruntime) come in
through ``PYTHONPATH``: ``python -m stmfnet_trt.gst`` prints both settings for the environment
that runs it. The Python versions must match (the wheels are built for one).

Layer 13, the applications, with ``serve/``, ``batch/``, ``bench/`` and ``train/``
(docs/ARCHITECTURE.md; tests/test_layers.py checks it): none imports another; above every
library layer, below ``cli/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"


def plugin_dir() -> Path:
    """The folder to put on ``GST_PLUGIN_PATH`` (it holds ``python/stmfnetinterp.py``)."""
    return Path(__file__).resolve().parent


def system_gi_dir() -> str | None:
    """The folder holding the system Python's PyGObject (``gi``), or None where it has none.

    With a virtual environment's ``bin`` on PATH (an activated venv) the interpreter the loader
    embeds takes the venv's prefix, loses the system's dist-packages and fails to initialise
    PyGObject ("pygobject initialization failed"); naming gi's folder on PYTHONPATH restores it.
    The loader embeds the distribution's Python (``/usr/bin/python3`` on Debian, Ubuntu, Fedora),
    so that is asked first, then any other ``python3`` on PATH (pyenv puts its own first).
    """
    own_bin = str(Path(sys.executable).parent)
    search = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != own_bin)
    probe = "import gi, os; print(os.path.dirname(os.path.dirname(gi.__file__)))"
    for python in dict.fromkeys(filter(None, [SYSTEM_PYTHON, shutil.which("python3", path=search)])):
        if not Path(python).is_file():
            continue
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return None


def environment() -> dict[str, str]:
    """``GST_PLUGIN_PATH`` and ``PYTHONPATH`` that make the element load with this environment's
    packages in the system Python the plugin loader embeds (this environment's first, so its
    numpy wins over a system one)."""
    paths = [sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), system_gi_dir()]
    return {
        "GST_PLUGIN_PATH": str(plugin_dir()),
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(filter(None, paths))),
    }
