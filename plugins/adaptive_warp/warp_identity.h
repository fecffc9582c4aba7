// Identity of the AdaptiveWarp custom op, shared by the TensorRT plugin and the ONNX Runtime op.
//
// The exporter (stmfnet_trt/core/warp_op.py) writes ONNX nodes with exactly these names, so the two must
// never drift: tests/plugins/test_plugins_native.py parses this header and compares it with warp_op.py.
// Keep each name a `constexpr char` array with its string literal on one line: that test reads
// this file with a regular expression, not a compiler.
#pragma once

namespace stmfnet_trt
{

constexpr char kWarpOpName[] = "AdaptiveWarp";
constexpr char kWarpOpDomain[] = "ai.stmfnet_trt";
constexpr char kWarpPluginVersion[] = "1";
constexpr char kWarpPluginNamespace[] = "stmfnet_trt";

// Attribute names (ONNX) = plugin field names (TensorRT).
constexpr char kAttrKernelSize[] = "kernel_size";
constexpr char kAttrDilation[] = "dilation";
constexpr char kAttrSoftmax[] = "softmax";

// Attribute defaults: the values ST-MFNet Mini uses (5x5 taps, no dilation, weights already softmaxed).
constexpr int kDefaultKernelSize = 5;
constexpr int kDefaultDilation = 1;
constexpr int kDefaultSoftmax = 0;

} // namespace stmfnet_trt
