// The UpsampleConv3x3 op for ONNX Runtime's CPU provider (see upsample_conv_cpu.h for the math).
#pragma once

#include <onnxruntime_c_api.h>

namespace stmfnet_trt
{

// The op, for RegisterCustomOps to add to our domain; a function static that lives as long as the
// library.
OrtCustomOp const& upsampleConvOp();

} // namespace stmfnet_trt
