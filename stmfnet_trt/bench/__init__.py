"""``stmfnet-trt bench``: latency, throughput, memory and quality per backend and resolution.

``measure.py`` times one backend on one batch of windows; ``suite.py`` runs the grid and compares
every output with the reference backend's; ``report.py`` renders the table, JSON and plots;
``device_memory.py`` reads GPU memory in use; ``layers.py`` and ``polygraphy_timing.py`` time an
engine per layer and through ``polygraphy``. The scripts in the top-level ``bench/`` drive this
library and write bench/RESULTS.md (bench/README.md).

Layer 13, the applications, with ``serve/``, ``batch/``, ``train/`` and ``gst/``
(docs/ARCHITECTURE.md; tests/test_layers.py checks it): none imports another; above every
library layer, below ``cli/``.
"""
