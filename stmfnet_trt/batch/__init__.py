"""``stmfnet-trt batch``: many videos, chunked, interpolated by Ray actors on one or many machines.

The driver (``job``) decodes each video, cuts it into frame-exact chunks
(``runtime.scheduling.chunks``), ships them to one actor per GPU (or CPU worker) that holds the
model (``worker``), and writes the results back in order (``assembly``) through the same atomic
sinks as ``run``. ``ray`` is imported only when a job starts.

Layer 13, the applications, with ``serve/``, ``bench/``, ``train/`` and ``gst/``
(docs/ARCHITECTURE.md; tests/test_layers.py checks it): none imports another; above every
library layer, below ``cli/``.
"""
