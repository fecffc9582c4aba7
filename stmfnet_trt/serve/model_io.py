"""The model as Triton sees it: name, version, tensors. One definition for server, repo and client.

It is the export contract (``export.contract``) with Triton's batch dimension in front: inputs
``frame0`` .. ``frame3`` and output ``middle``, FP32, dims ``[3, -1, -1]`` per window, H and W
multiples of 128. The client pads and crops (as every local backend does), so a stock Triton
running the ONNX graph or the engine directly and ``stmfnet-trt serve`` answer the same requests.
"""

from __future__ import annotations

from ..export.contract import INPUT_NAMES, OUTPUT_NAME

DEFAULT_MODEL_NAME = "stmfnet_mini"
DEFAULT_MODEL_VERSION = 1
TRITON_DATATYPE = "FP32"
CONFIG_DATATYPE = "TYPE_FP32"
WINDOW_DIMS = (3, -1, -1)  # per window; Triton adds the batch dimension
DEFAULT_MAX_BATCH_SIZE = 8
DEFAULT_QUEUE_DELAY_US = 2000

__all__ = [
    "CONFIG_DATATYPE",
    "DEFAULT_MAX_BATCH_SIZE",
    "DEFAULT_MODEL_NAME",
    "DEFAULT_MODEL_VERSION",
    "DEFAULT_QUEUE_DELAY_US",
    "INPUT_NAMES",
    "OUTPUT_NAME",
    "TRITON_DATATYPE",
    "WINDOW_DIMS",
]
