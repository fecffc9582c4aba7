"""The ``stmfnet-trt`` command's entry point: a setting the command's process owns, then the CLI.

Importing NumPy starts its OpenBLAS pool, a thread per extra core, and each thread spins for about
0.1 s looking for work: CPU that no command uses (their arrays are converted, clamped and compared,
never multiplied as matrices; the networks run in ONNX Runtime, torch or TensorRT, with threads of
their own). The command starts NumPy with one BLAS thread unless the user chose a number
(``OPENBLAS_NUM_THREADS``); a 720p ``run --backend blend``, 5 runs each: 2.45 -> 2.33 CPU seconds
(bench/RESULTS.md, pipeline_after). The setting must come before NumPy is imported, so before the
CLI is, and only here: a program that imports the library keeps its own.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from stmfnet_trt.cli import main  # after the setting above, by design

__all__ = ["main"]
