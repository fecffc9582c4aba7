"""The TensorRT flavours we build for and run on, and the Python module each one is.

``tensorrt`` is classic TensorRT (data-center GPUs and Jetson; the engine is built on the GPU it
runs on); ``rtx`` is TensorRT-RTX (GeForce/RTX desktops; engines built ahead of time for listed
compute capabilities, no GPU needed to build). The engine builder's child process, the engine
cache and the runtime all name flavours; one table keeps them agreeing.
"""

from __future__ import annotations

FLAVOURS = ("tensorrt", "rtx")
FLAVOUR_MODULES = {"tensorrt": "tensorrt", "rtx": "tensorrt_rtx"}
# TensorRT-RTX's compute-capability targets (tensorrt_rtx.ComputeCapability): desktop/RTX only.
RTX_TARGETS = (75, 80, 86, 89, 120, 121)
DEFAULT_RTX_TARGETS = (86, 89)
