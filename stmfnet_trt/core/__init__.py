"""What every other package shares and nothing else: small, torch-free, no heavy imports.

Layer 1, the lowest (docs/ARCHITECTURE.md; tests/test_layers.py checks it): it imports nothing
else of stmfnet_trt, so anything two packages need can move down here without a cycle.

Modules: ``errors`` (``UserError`` and its kinds), ``closeable``, ``signals`` (SIGINT/SIGTERM as
exceptions, OS errors in one line), ``hashing`` (file sha256), ``version``, ``cache`` (the cache
root and the ONNX cache key), ``contract`` (the sizes the model pads, tensor names, export
metadata), ``warp_op`` / ``upsample_conv_op`` (the custom ops' identities, equal to the C++
``*_identity.h``), ``flavours`` (TensorRT vs TensorRT-RTX), ``frames`` (uint8 HxWx3 <-> float
3xHxW, the values a backend reads from uint8 frames, random test frames), ``frame_pool``
(frame-sized arrays whose memory is reused once nothing refers to them).
"""
