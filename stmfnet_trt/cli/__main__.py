"""``python -m stmfnet_trt.cli``: the ``stmfnet-trt`` command's CLI (the command itself also starts
NumPy with one BLAS thread: ``stmfnet_trt/console.py``)."""

import sys

from stmfnet_trt.cli import main

sys.exit(main())
