"""stmfnet-trt: ST-MFNet Mini frame interpolation from a PyTorch checkpoint to TensorRT.

The package is split along the deployment pipeline: ``model`` (PyTorch reference and the
warp oracle), ``io`` (video and frame folders), ``export`` (ONNX), ``calibration`` (FP16/INT8),
``runtime`` (backends and the window scheduler) and ``cli``.
"""

from stmfnet_trt.core.version import __version__

__all__ = ["__version__"]
