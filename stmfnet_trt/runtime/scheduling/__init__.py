"""Which windows a backend is asked for, and whole runs built on that: backend-agnostic, torch-free.

Layer 6 (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above ``runtime/backend.py``,
below ``calibration/``.

Modules: ``scheduler`` (four-frame windows over a frame stream, one x2 level per factor of two,
copies at scene cuts and identical pairs), ``frame_ring`` (entries of the frames windows read, in
reusable slots: pure logic, for the host's ``window_ring`` and the TensorRT pipeline's device
ring), ``window_ring`` (the windows waiting for a backend, as views of one ring of frames),
``scene`` (the scene-cut score), ``chunks`` (a video cut into independently interpolated chunks,
for ``batch``), ``handoff`` (bounded queues between worker threads), ``video`` (file to file: read,
schedule, write atomically, decoding and encoding on threads of their own), ``stream`` (y4m in,
y4m out, live).
"""
