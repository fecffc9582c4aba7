"""Serving through NVIDIA Triton Inference Server.

Two wire contracts: the windows model (``runtime.backends.triton_model``: four float32 frames per
window, the export's contract) and the stream model (``runtime.backends.triton_stream_model``:
each video frame once, as uint8, the scheduler on the server). ``triton-repo`` (``repository``)
writes a model repository for a stock ``tritonserver`` (the windows model, from a TensorRT engine
or ONNX file); ``serve`` (``server``, with ``streams`` holding the open streams) runs a real Triton
server around any of our backends with both models (PyTriton's bundled ``tritonserver`` and Python
backend); the ``triton`` backend (``runtime.backends.triton_client``) is the client of either.
Triton packages are imported only when used.

Layer 13, the applications, with ``batch/``, ``bench/``, ``train/`` and ``gst/``
(docs/ARCHITECTURE.md; tests/test_layers.py checks it): none imports another; above every
library layer, below ``cli/``.
"""
