// Identity of the UpsampleConv3x3 custom op (ONNX Runtime CPU only; domain: warp_identity.h's).
//
// stmfnet_trt/core/upsample_conv_op.py holds the same values for the exporter;
// tests/plugins/test_plugins_native.py parses this header with a regular expression and compares: keep
// each name a `constexpr char` array with its string literal on one line.
#pragma once

namespace stmfnet_trt
{

constexpr char kUpsampleConvOpName[] = "UpsampleConv3x3";
constexpr char kAttrScale[] = "scale";

} // namespace stmfnet_trt
