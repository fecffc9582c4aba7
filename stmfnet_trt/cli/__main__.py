"""``python -m stmfnet_trt.cli``: the same entry point as the ``stmfnet-trt`` command."""

import sys

from stmfnet_trt.cli import main

sys.exit(main())
