"""The backends: every way of turning windows into middle frames, behind ``runtime.backend.Backend``.

Layer 10 (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above ``engine/`` (the
TensorRT backend verifies engines with it), below ``api/``.

Modules: ``torch_backend`` (the reference model), ``onnxruntime_backend``, ``tensorrt_backend``
(either flavour, no torch), ``triton_client`` and ``triton_model`` (a Triton server as a backend,
and the model's wire contract), ``blend`` (the average of the inner frames), ``tiling`` (any
backend over overlapping tiles), ``specs`` (one frozen dataclass per backend, ``open_backend``).
"""
