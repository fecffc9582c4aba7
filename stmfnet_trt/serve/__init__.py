"""Serving through NVIDIA Triton Inference Server.

Three pieces share one wire contract (``runtime.backends.triton_model``): ``triton-repo``
(``repository``) writes a model repository for a stock ``tritonserver`` (TensorRT engine or ONNX
file), ``serve`` (``server``) runs a real Triton server around any of our backends (PyTriton's
bundled ``tritonserver`` and Python backend), and the ``triton`` backend
(``runtime.backends.triton_client``) is the client that sends windows to either. Triton packages
are imported only when used.

Layer 13, the applications, with ``batch/``, ``bench/``, ``train/`` and ``gst/``
(docs/ARCHITECTURE.md; tests/test_layers.py checks it): none imports another; above every
library layer, below ``cli/``.
"""
