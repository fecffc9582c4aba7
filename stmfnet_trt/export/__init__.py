"""PyTorch -> ONNX: the exported graph variants, their checks, and ONNX Runtime sessions for them.

Layer 4 (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above ``model/`` and ``io/``,
below ``runtime/``.

Modules: ``exporter`` (``export_onnx``: the ``plugin``, ``portable`` and ``cpu`` variants, checked
for parity before the file appears), ``graph`` (the module traced), ``rewrites`` and
``upsample_conv`` / ``warp_custom_op`` (export-time rewrites and the custom nodes), ``op_schemas``,
``parity`` (agreement numbers), ``cache`` (one export per checkpoint and variant), ``ort_session``
(sessions with our op library), ``check`` (``stmfnet-trt check``).
"""
