// CUDA launcher of the AdaptiveWarp op (device code in adaptive_warp_kernel.cu, math in warp_math.h).
#pragma once

#include "warp_math.h"

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

namespace stmfnet_trt
{

// Enqueues the warp on `stream`; one thread per output pixel. T is float or __half (FP16 I/O, FP32
// math). Returns the launch status (no synchronisation). Shapes must already have passed
// warpShapeError / warpAttributeError.
template <typename T>
cudaError_t launchAdaptiveWarp(WarpShape const& shape, WarpTensors<T> const& tensors, cudaStream_t stream);

} // namespace stmfnet_trt

// C ABI for tests and benchmarks that hold CUDA tensors but no TensorRT (ctypes + torch/CuPy).
// All pointers are device pointers of contiguous NCHW tensors of one dtype (0: float32, 1: float16):
// image [B, C, H+(K-1)d, W+(K-1)d], weight/off_v/off_h [B, K*K, H, W], out [B, C, H, W].
// `stream` is a cudaStream_t (nullptr: the legacy default stream). Returns a cudaError_t value:
// 0 on a successful launch, cudaErrorInvalidValue (1) for bad sizes, attributes or dtype.
extern "C" __attribute__((visibility("default"))) int stmfnet_adaptive_warp_launch(void const* image,
    void const* weight, void const* off_v, void const* off_h, void* out, int B, int C, int H, int W, int K,
    int dilation, int softmax, int dtype, void* stream);
