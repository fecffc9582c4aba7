"""Which windows a backend is asked for, and whole runs built on that: backend-agnostic, torch-free.

Layer 6 (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above ``runtime/backend.py``,
below ``calibration/``.

Modules: ``scheduler`` (four-frame windows over a frame stream, one x2 level per factor of two,
copies at scene cuts and identical pairs), ``scene`` (the scene-cut score), ``chunks`` (a video cut
into independently interpolated chunks, for ``batch``), ``video`` (file to file: read, schedule,
write atomically), ``stream`` (y4m in, y4m out, live).
"""
