"""Identity of the ``UpsampleConv3x3`` custom op (ONNX Runtime CPU only), defined once for Python.

The exporter writes nodes with these names and the op library registers under them
(``plugins/upsample_conv/upsample_conv_identity.h``; a test keeps the two in step). The domain is
the warp op's.
"""

OP_NAME = "UpsampleConv3x3"
ATTR_SCALE = "scale"
