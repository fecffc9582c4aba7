"""Running the model on frames: the backend protocol, the scheduling of windows, CUDA, the backends.

Its parts sit at different layers (docs/ARCHITECTURE.md; tests/test_layers.py checks them), so
that ``calibration/`` (layer 7) and ``engine/`` (layer 9) can use the parts below them and the
backends can use ``calibration/`` and ``engine/``:
``backend.py`` (layer 5: the ``Backend`` protocol every backend implements and the input checks
they share), ``scheduling/`` (layer 6: windows, x2 levels, scene cuts, whole runs), ``cuda/``
(layer 8: the CUDA bindings and the overlapped TensorRT pipeline), ``backends/`` (layer 10: torch,
ONNX Runtime, TensorRT, Triton client, blend, tiling).
"""
