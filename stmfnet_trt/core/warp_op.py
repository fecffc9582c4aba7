"""Identity of the adaptive-warp custom op, defined once for every host.

The ONNX exporter writes nodes with these names, the ONNX Runtime CPU op registers under them and
the TensorRT plugin creator answers to them. ``plugins/adaptive_warp/warp_identity.h`` holds the
same values for C++; a test keeps the two in step.
"""

OP_NAME = "AdaptiveWarp"
OP_DOMAIN = "ai.stmfnet_trt"
PLUGIN_VERSION = "1"
PLUGIN_NAMESPACE = "stmfnet_trt"

# Attribute names (ONNX) = plugin field names (TensorRT).
ATTR_KERNEL_SIZE = "kernel_size"
ATTR_DILATION = "dilation"
ATTR_SOFTMAX = "softmax"
