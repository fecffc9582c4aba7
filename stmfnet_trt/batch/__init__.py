"""``stmfnet-trt batch``: many videos, chunked, interpolated by Ray actors on one or many machines.

The driver decodes each video, cuts it into frame-exact chunks (``runtime.chunks``), ships them
to one actor per GPU (or CPU worker) that holds the model, and writes the results back in order
through the same atomic sinks as ``run``. ``ray`` is imported only when a job starts.
"""
