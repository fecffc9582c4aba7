"""Makes ``stmfnetinterp`` visible to GStreamer's Python plugin loader.

The loader (Debian's ``gstreamer1.0-python3-plugin-loader``) imports every ``python/*.py`` under
the folders on ``GST_PLUGIN_PATH`` and registers what ``__gstelementfactory__`` names. The element
itself lives in ``stmfnet_trt.gst.element``, an ordinary module that tests import and lint.
"""

import sys
from pathlib import Path

# An editable install is found through a .pth file, which PYTHONPATH entries do not read: put the
# folder holding the stmfnet_trt package on the path (for a wheel install it is site-packages).
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

try:
    from gi.repository import Gst

    from stmfnet_trt.gst.element import StmfnetInterp
except ImportError as exc:  # the loader would only log this at GST_DEBUG level: say it once
    print(
        f"stmfnetinterp not loaded: {exc}; put the environment's site-packages on PYTHONPATH "
        "(`python -m stmfnet_trt.gst` prints the settings)",
        file=sys.stderr,
    )
else:
    __gstelementfactory__ = ("stmfnetinterp", Gst.Rank.NONE, StmfnetInterp)
