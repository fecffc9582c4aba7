"""Engine building for both TensorRT flavours behind one small API.

``build_engine(BuildRequest, output)`` -> ``BuildResult``; ``ProfileShapes.parse("1x256x256:...")``;
``sidecar.mismatches(sidecar, current)`` for runtimes. Classic TensorRT (Jetson, data center)
builds on the GPU it targets; TensorRT-RTX (GeForce/RTX) builds for listed compute capabilities
with no GPU. Both get strongly typed networks: precision is decided in the ONNX graph.

Layer 9 (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above ``runtime/cuda/`` and
``calibration/``, below ``runtime/backends/``. Modules: ``build`` (the cached build, run in a
child process: ``worker``), ``request`` (what a build is asked, as JSON), ``sidecar`` (the JSON
beside every engine, and the sha256 check before an engine is loaded), ``flavours`` (what each
TensorRT flavour needs), ``precision_step`` (FP32 -> gated FP16/INT8 ONNX), ``for_run`` (the
engine ``run`` builds on demand).
"""
