"""Serving through NVIDIA Triton Inference Server.

Three pieces share one wire contract (``model_io``): ``triton-repo`` writes a model repository for
a stock ``tritonserver`` (TensorRT engine or ONNX file), ``serve`` runs a real Triton server around
any of our backends (PyTriton's bundled ``tritonserver`` and Python backend), and the ``triton``
backend is the client that sends windows to either. Triton packages are imported only when used.
"""
