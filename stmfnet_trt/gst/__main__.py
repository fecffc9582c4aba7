"""``eval "$(python -m stmfnet_trt.gst)"``: the shell settings that make ``stmfnetinterp`` load."""

import os
import shlex

from stmfnet_trt.gst import environment

for name, value in environment().items():
    joined = ":".join(filter(None, [value, os.environ.get(name, "")]))
    print(f"export {name}={shlex.quote(joined)}")
