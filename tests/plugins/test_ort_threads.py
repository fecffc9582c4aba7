"""The whole plugin graph gives the same bits on one and on two ONNX Runtime threads.

Our warp op splits rows over the threads (one writer per element); ONNX Runtime's MLAS kernels
split convolutions and GEMMs by output blocks, never inside a reduction, so the thread count must
not change a single bit. A difference here would mean a thread-dependent reduction crept in.
"""

from __future__ import annotations

import numpy as np

from stmfnet_trt.core.frames import random_frames
from stmfnet_trt.export.ort_session import create_session
from stmfnet_trt.export.parity import onnx_output


def test_plugin_graph_is_bitwise_identical_on_one_and_two_threads(exported):
    frames = random_frames((1, 4, 3, 128, 256), seed=4)
    one, two = (onnx_output(None, frames, create_session(exported["plugin"], threads=t)) for t in (1, 2))
    assert np.isfinite(one).all()
    assert np.array_equal(one, two)
