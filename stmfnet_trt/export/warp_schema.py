"""ONNX schema of the ``AdaptiveWarp`` custom op, registered with ``onnx.defs`` once per process.

The exporter (onnxscript) needs the op's signature to know it has one output, and
``onnx.checker`` then validates our nodes like standard ones instead of skipping them.
"""

from __future__ import annotations

import onnx
from onnx.defs import OpSchema

from ..warp_op import ATTR_DILATION, ATTR_KERNEL_SIZE, ATTR_SOFTMAX, OP_DOMAIN, OP_NAME

OPSET_VERSION = 1
INPUTS = ("image", "weight", "offset_v", "offset_h")
# Read by TensorRT's ONNX parser to find the plugin creator.
PLUGIN_ATTRS = ("plugin_version", "plugin_namespace")


def _schema() -> OpSchema:
    ints = [
        OpSchema.Attribute(name, onnx.helper.make_attribute(name, default), doc)
        for name, default, doc in (
            (ATTR_KERNEL_SIZE, 5, "taps per side K (odd)"),
            (ATTR_DILATION, 1, "tap spacing d"),
            (ATTR_SOFTMAX, 0, "1: weight holds logits, softmax over the K*K taps inside the op"),
        )
    ]
    strings = [
        OpSchema.Attribute(name, OpSchema.AttrType.STRING, "TensorRT plugin lookup") for name in PLUGIN_ATTRS
    ]
    return OpSchema(
        OP_NAME,
        OP_DOMAIN,
        OPSET_VERSION,
        doc="AdaCoF adaptive warp; see plugins/adaptive_warp/README.md",
        inputs=[OpSchema.FormalParameter(name, "T") for name in INPUTS],
        outputs=[OpSchema.FormalParameter("output", "T")],
        type_constraints=[("T", ["tensor(float)", "tensor(float16)"], "image and tap tensors")],
        attributes=ints + strings,
    )


def register_warp_schema() -> None:
    """Make ``AdaptiveWarp`` known to onnx (idempotent)."""
    if not onnx.defs.has(OP_NAME, OP_DOMAIN):
        onnx.defs.register_schema(_schema())
