"""ONNX schemas of our custom ops, registered with ``onnx.defs`` once per process.

The exporter needs each op's signature to know it has one output, and ``onnx.checker`` then
validates our nodes like standard ones instead of skipping them.
"""

from __future__ import annotations

import onnx
from onnx.defs import OpSchema

from stmfnet_trt.core.upsample_conv_op import ATTR_SCALE
from stmfnet_trt.core.upsample_conv_op import OP_NAME as UPSAMPLE_CONV_OP
from stmfnet_trt.core.warp_op import ATTR_DILATION, ATTR_KERNEL_SIZE, ATTR_SOFTMAX, OP_DOMAIN, OP_NAME

OPSET_VERSION = 1
INPUTS = ("image", "weight", "offset_v", "offset_h")
# Read by TensorRT's ONNX parser to find the plugin creator.
PLUGIN_ATTRS = ("plugin_version", "plugin_namespace")


def _int_attributes(*specs: tuple[str, int, str]) -> list[OpSchema.Attribute]:
    return [
        OpSchema.Attribute(name, onnx.helper.make_attribute(name, default), doc)
        for name, default, doc in specs
    ]


def _warp_schema() -> OpSchema:
    ints = _int_attributes(
        (ATTR_KERNEL_SIZE, 5, "taps per side K (odd)"),
        (ATTR_DILATION, 1, "tap spacing d"),
        (ATTR_SOFTMAX, 0, "1: weight holds logits, softmax over the K*K taps inside the op"),
    )
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


def _upsample_conv_schema() -> OpSchema:
    return OpSchema(
        UPSAMPLE_CONV_OP,
        OP_DOMAIN,
        OPSET_VERSION,
        doc="3x3 conv of a bilinear (align_corners) upsampling, from its 1x1-conv tap planes; "
        "see stmfnet_trt/export/upsample_conv.py",
        inputs=[OpSchema.FormalParameter("taps", "T"), OpSchema.FormalParameter("bias", "T")],
        outputs=[OpSchema.FormalParameter("output", "T")],
        type_constraints=[("T", ["tensor(float)"], "float32 only (a CPU op)")],
        attributes=_int_attributes((ATTR_SCALE, 2, "integer upsampling factor s >= 1")),
    )


def register_op_schemas() -> None:
    """Make ``AdaptiveWarp`` and ``UpsampleConv3x3`` known to onnx (idempotent)."""
    for name, make in ((OP_NAME, _warp_schema), (UPSAMPLE_CONV_OP, _upsample_conv_schema)):
        if not onnx.defs.has(name, OP_DOMAIN):
            onnx.defs.register_schema(make())
