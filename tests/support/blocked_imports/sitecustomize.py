"""Makes the modules named in ``$STMFNET_BLOCK_IMPORTS`` (comma-separated) uninstalled.

Put this folder first on ``PYTHONPATH``: Python imports ``sitecustomize`` at start-up, in the
test's subprocess and in every process it starts (the engine build worker). ``sys.modules[name]
= None`` is how CPython spells "not importable": ``import name`` raises ImportError and
``importlib.util.find_spec(name)`` returns None, as for a package that is not installed.
"""

import os
import sys

for _name in filter(None, os.environ.get("STMFNET_BLOCK_IMPORTS", "").split(",")):
    sys.modules[_name] = None
