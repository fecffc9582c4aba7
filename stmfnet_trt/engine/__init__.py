"""Engine building for both TensorRT flavours behind one small API.

``build_engine(BuildRequest, output)`` -> ``BuildResult``; ``ProfileShapes.parse("1x256x256:...")``;
``sidecar.mismatches(sidecar, current)`` for runtimes. Classic TensorRT (Jetson, data center)
builds on the GPU it targets; TensorRT-RTX (GeForce/RTX) builds for listed compute capabilities
with no GPU. Both get strongly typed networks: precision is decided in the ONNX graph.
"""
