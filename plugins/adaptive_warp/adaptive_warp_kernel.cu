// Device code of the AdaptiveWarp op. All arithmetic lives in warp_math.h; this file only maps
// threads to output pixels.
//
// One thread per output pixel (b, i, j), j fastest across a warp: the 3*K*K weight/offset loads of a
// tap are then coalesced (consecutive j are consecutive addresses in every [B, K*K, H, W] plane), as
// are the output stores. Each thread loops over the channels itself (warpPixel), so a tap's weight,
// offsets and corner positions are loaded and computed once and reused for all C channels; only the
// image gathers are per channel. No shared memory and no atomics: every output element has a single
// writer.
#include "adaptive_warp_kernel.h"

namespace stmfnet_trt
{
namespace
{

constexpr int kThreadsPerBlock = 256;

template <typename T>
__global__ void __launch_bounds__(kThreadsPerBlock) adaptiveWarpKernel(WarpShape const shape, WarpTensors<T> const t)
{
    int64_t const pixels = static_cast<int64_t>(shape.B) * shape.H * shape.W;
    int64_t const idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= pixels)
    {
        return;
    }
    int const j = static_cast<int>(idx % shape.W);
    int64_t const row = idx / shape.W;
    int const i = static_cast<int>(row % shape.H);
    int const b = static_cast<int>(row / shape.H);
    warpPixel(shape, t, b, i, j);
}

} // namespace

template <typename T>
cudaError_t launchAdaptiveWarp(WarpShape const& shape, WarpTensors<T> const& tensors, cudaStream_t stream)
{
    int64_t const pixels = static_cast<int64_t>(shape.B) * shape.H * shape.W;
    if (pixels <= 0)
    {
        return cudaSuccess;
    }
    int64_t const blocks = (pixels + kThreadsPerBlock - 1) / kThreadsPerBlock;
    if (blocks > 0x7fffffff)
    {
        return cudaErrorInvalidConfiguration;
    }
    adaptiveWarpKernel<T><<<static_cast<unsigned>(blocks), kThreadsPerBlock, 0, stream>>>(shape, tensors);
    return cudaGetLastError();
}

template cudaError_t launchAdaptiveWarp<float>(WarpShape const&, WarpTensors<float> const&, cudaStream_t);
template cudaError_t launchAdaptiveWarp<__half>(WarpShape const&, WarpTensors<__half> const&, cudaStream_t);

} // namespace stmfnet_trt

namespace
{

template <typename T>
int launchUntyped(stmfnet_trt::WarpShape const& shape, void const* image, void const* weight, void const* offV,
    void const* offH, void* out, cudaStream_t stream)
{
    stmfnet_trt::WarpTensors<T> const t{static_cast<T const*>(image), static_cast<T const*>(weight),
        static_cast<T const*>(offV), static_cast<T const*>(offH), static_cast<T*>(out)};
    return static_cast<int>(stmfnet_trt::launchAdaptiveWarp<T>(shape, t, stream));
}

} // namespace

extern "C" int stmfnet_adaptive_warp_launch(void const* image, void const* weight, void const* off_v,
    void const* off_h, void* out, int B, int C, int H, int W, int K, int dilation, int softmax, int dtype, void* stream)
{
    bool const pointersOk = image && weight && off_v && off_h && out;
    if (!pointersOk || B <= 0 || C <= 0 || H <= 0 || W <= 0
        || !stmfnet_trt::warpAttributeError(K, dilation, softmax).empty())
    {
        return static_cast<int>(cudaErrorInvalidValue);
    }
    // Same checks as the plugin and the ORT op (size limits included), on the implied input shapes.
    int64_t const span = static_cast<int64_t>(K - 1) * dilation;
    std::array<int64_t, 4> const taps{B, static_cast<int64_t>(K) * K, H, W};
    stmfnet_trt::WarpInputDims const dims{{{B, C, H + span, W + span}, taps, taps, taps}};
    if (!stmfnet_trt::warpShapeError(dims, K, dilation).empty())
    {
        return static_cast<int>(cudaErrorInvalidValue);
    }
    stmfnet_trt::WarpShape const shape = stmfnet_trt::makeWarpShape(dims, K, dilation, softmax != 0);
    auto const s = static_cast<cudaStream_t>(stream);
    switch (dtype)
    {
    case 0: return launchUntyped<float>(shape, image, weight, off_v, off_h, out, s);
    case 1: return launchUntyped<__half>(shape, image, weight, off_v, off_h, out, s);
    default: return static_cast<int>(cudaErrorInvalidValue);
    }
}
