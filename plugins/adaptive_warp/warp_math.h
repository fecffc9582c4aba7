// The arithmetic of the AdaptiveWarp op: the ONE place it is written down.
//
// The CUDA kernel (adaptive_warp_kernel.cu) and the ONNX Runtime CPU op (ort_adaptive_warp.cpp)
// both call warpPixel() below and only adapt memory and threads around it, so the two hosts cannot
// drift apart. The contract is ARCHITECTURE.md section 7 (AdaCoF warp):
//
//   out[b,c,i,j] = sum_{k,l} w * S(i + k*d + alpha, j + l*d + beta),   tap n = k*K + l
//
// with S the TRUNCATING bilinear sampler: the integer part of an offset is a C cast (toward zero),
// so a negative fraction extrapolates, and each of the four corner indices is clamped on its own
// into the (already replicate-padded) image. Everything is computed in float32, whatever the
// storage type: positions and bilinear weights are formed from the offsets in FP32 even for FP16
// I/O, because FP16 cannot hold pixel coordinates of wide frames (spacing 2 above 2048).
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#include <cuda_fp16.h>
#define SW_HD __host__ __device__
#define SW_FORCEINLINE __forceinline__
#else
#define SW_HD
#define SW_FORCEINLINE inline __attribute__((always_inline))
#endif

#include <array>
#include <string>

namespace stmfnet_trt
{

// Attribute ranges. The upper bounds only keep (K-1)*d and K*K far from int overflow; ST-MFNet
// uses K = 5, d = 1.
constexpr int kMaxKernelSize = 31;
constexpr int kMaxDilation = 64;

// Channels accumulated together per pass over the taps. Tap weights, offsets and the four corner
// positions are loaded/computed once per tap and reused for every channel of a chunk; the chunk
// keeps the float accumulators in registers on the GPU. RGB (C = 3) takes a single pass.
constexpr int kChannelChunk = 4;

// Largest padded image side: offsets are limited to +-2^24 (splitOffset), which must stay beyond
// every position of the image.
constexpr int64_t kMaxImageSide = (int64_t{1} << 23);

// Sizes of one warp call. Hin/Win are the padded image's, H/W the output's.
struct WarpShape
{
    int B;
    int C;
    int H;
    int W;
    int Hin;
    int Win;
    int K;
    int dilation;
    bool softmax; // weight input holds tap logits; normalise them per pixel first
};

// Device/host pointers of one warp call, NCHW contiguous, all of storage type T.
template <typename T>
struct WarpTensors
{
    T const* __restrict__ image;  // [B, C, Hin, Win]
    T const* __restrict__ weight; // [B, K*K, H, W] weights (or logits when softmax)
    T const* __restrict__ offV;   // [B, K*K, H, W] vertical offsets (rows, "alpha")
    T const* __restrict__ offH;   // [B, K*K, H, W] horizontal offsets (columns, "beta")
    T* __restrict__ out;          // [B, C, H, W]
};

// Conversion between a storage type and the float32 the math runs in. Hosts with other 16-bit
// types (ONNX Runtime's Ort::Float16_t) add their own specialisation next to their adapter.
template <typename T>
struct Storage;

template <>
struct Storage<float>
{
    static SW_HD SW_FORCEINLINE float load(float const* p)
    {
#ifdef __CUDA_ARCH__
        return __ldg(p); // read-only data path: inputs are never written during the call
#else
        return *p;
#endif
    }
    static SW_HD SW_FORCEINLINE void store(float* p, float v)
    {
        *p = v;
    }
};

#ifdef __CUDACC__
template <>
struct Storage<__half>
{
    static __device__ SW_FORCEINLINE float load(__half const* p)
    {
        return __half2float(__ldg(p));
    }
    static __device__ SW_FORCEINLINE void store(__half* p, float v)
    {
        *p = __float2half_rn(v);
    }
};
#endif

SW_HD SW_FORCEINLINE int clampIndex(int v, int hi)
{
    return v < 0 ? 0 : (v > hi ? hi : v);
}

// Splits an offset into the C-cast integer part and the (signed) remainder, as the original kernel
// does: trunc(-0.3) = 0 with fraction -0.3, so the blend extrapolates (ARCHITECTURE.md 7.3).
// The offset is first limited to +-2^24: every float beyond is an integer and lies outside any
// image we accept (warpShapeError keeps sides below kMaxImageSide), so the sample is unchanged, but
// the cast stays defined (casting a float outside the int range is undefined behaviour on the host). NaN passes the limit untouched (comparisons
// with NaN are false) and keeps a NaN fraction, so it propagates to the output like in the original.
SW_HD SW_FORCEINLINE void splitOffset(float offset, int& whole, float& frac)
{
    constexpr float kLimit = 16777216.0f;
    float const limited = offset < -kLimit ? -kLimit : (offset > kLimit ? kLimit : offset);
    whole = (limited == limited) ? static_cast<int>(limited) : 0;
    frac = limited - static_cast<float>(whole);
}

// The four clamped corners of one tap and its blend weights. Built once per pixel and tap, then
// applied to every channel.
struct TapSample
{
    // Offsets (row * Win + col) of the corners [r0,c0], [r1,c0], [r0,c1], [r1,c1] inside one image
    // plane; int32 because warpShapeError caps a plane at 2^31-1 elements (saves registers).
    int32_t i00;
    int32_t i10;
    int32_t i01;
    int32_t i11;
    float fa; // vertical fraction (may be negative)
    float fb; // horizontal fraction (may be negative)

    // Corner terms in the original's order and association ((v * (1-fa)) * (1-fb) ...), added
    // left to right, so a float32 host build reproduces the reference bit for bit.
    template <typename T>
    SW_HD SW_FORCEINLINE float sample(T const* plane) const
    {
        float const ga = 1.0f - fa;
        float const gb = 1.0f - fb;
        float t = Storage<T>::load(plane + i00) * ga * gb;
        t = t + Storage<T>::load(plane + i10) * fa * gb;
        t = t + Storage<T>::load(plane + i01) * ga * fb;
        t = t + Storage<T>::load(plane + i11) * fa * fb;
        return t;
    }
};

// baseRow/baseCol: the tap's position for a zero offset, i + k*d and j + l*d (padded coordinates).
SW_HD SW_FORCEINLINE TapSample makeTapSample(
    float offV, float offH, int baseRow, int baseCol, int Hin, int Win)
{
    int A;
    int Bc;
    TapSample s;
    splitOffset(offV, A, s.fa);
    splitOffset(offH, Bc, s.fb);
    int const r0 = clampIndex(baseRow + A, Hin - 1);
    int const r1 = clampIndex(baseRow + A + 1, Hin - 1);
    int const c0 = clampIndex(baseCol + Bc, Win - 1);
    int const c1 = clampIndex(baseCol + Bc + 1, Win - 1);
    s.i00 = r0 * Win + c0;
    s.i10 = r1 * Win + c0;
    s.i01 = r0 * Win + c1;
    s.i11 = r1 * Win + c1;
    return s;
}

// The softmax's two reductions, written once for every host. The max is a plain compare (NaN in,
// NaN out, as torch.softmax) so that CPU compilers vectorise it; the exponential is only ever taken
// of x = logit - max <= 0 (or NaN).
SW_HD SW_FORCEINLINE float softmaxMax(float a, float b)
{
    return b > a ? b : a;
}

// exp(x) for x <= 0 in plain float arithmetic (Cephes expf: Cody-Waite reduction by ln 2, degree-6
// polynomial, exponent bits; max relative error ~2e-7), so that CPU compilers vectorise it (a libm
// expf call blocks vectorisation) and every host computes the same function. exp(0) is exactly 1.
// Below about -87.3 (where exp would turn denormal) the power of two 2^-127 is built as the bit
// pattern 0, so the result is exactly 0: a softmax of +-1e4 logits gives exact one-hot weights, and
// -inf gives 0. NaN propagates (through r; its cast is avoided, being undefined behaviour).
// Branch-free on purpose: one select per step keeps the loops around it vectorisable.
SW_HD SW_FORCEINLINE float softmaxExp(float x)
{
    constexpr float kLog2e = 1.44269504088896341f;
    constexpr float kLn2Hi = 0.693359375f;
    constexpr float kLn2Lo = -2.12194440e-4f;
    float const clamped = x < -88.0f ? -88.0f : x;
    float const v = clamped * kLog2e - 0.5f;
    int const n = static_cast<int>(v == v ? v : 0.0f); // round half away from zero: n in [-127, 0]
    float const nf = static_cast<float>(n);
    float const r = (clamped - nf * kLn2Hi) - nf * kLn2Lo; // |r| <= ln(2)/2
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float const y = (p * (r * r) + r) + 1.0f;
    uint32_t const bits = static_cast<uint32_t>(n + 127) << 23; // 2^n; n = -127 gives +0
#ifdef __CUDA_ARCH__
    float const scale = __uint_as_float(bits);
#else
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
#endif
    return y * scale;
}

// Turns the raw weight input of a tap into the tap weight: identity, or the numerically stable
// softmax over the K*K taps of the pixel (max subtracted, so logits of +-1e4 stay finite). The max
// and the sum are computed once per pixel and shared by all channels.
struct TapWeighting
{
    bool softmax;
    float maxLogit;
    float sumExp;

    template <typename T>
    static SW_HD SW_FORCEINLINE TapWeighting make(bool softmax, T const* pixelWeights, int taps, int64_t tapStride)
    {
        TapWeighting tw{softmax, 0.0f, 1.0f};
        if (!softmax)
        {
            return tw;
        }
        tw.maxLogit = Storage<T>::load(pixelWeights);
        for (int n = 1; n < taps; ++n)
        {
            tw.maxLogit = softmaxMax(tw.maxLogit, Storage<T>::load(pixelWeights + n * tapStride));
        }
        tw.sumExp = 0.0f;
        for (int n = 0; n < taps; ++n)
        {
            tw.sumExp += softmaxExp(Storage<T>::load(pixelWeights + n * tapStride) - tw.maxLogit);
        }
        return tw;
    }

    SW_HD SW_FORCEINLINE float operator()(float raw) const
    {
        return softmax ? softmaxExp(raw - maxLogit) / sumExp : raw;
    }
};

// Computes every channel of output pixel (b, i, j). Taps run k outer, l inner; each channel's sum
// is accumulated in float32 in that order, as in the original kernel.
template <typename T>
SW_HD SW_FORCEINLINE void warpPixel(WarpShape const& s, WarpTensors<T> const& t, int b, int i, int j)
{
    int const taps = s.K * s.K;
    int64_t const outPlane = static_cast<int64_t>(s.H) * s.W;
    int64_t const inPlane = static_cast<int64_t>(s.Hin) * s.Win;
    int64_t const pixel = static_cast<int64_t>(i) * s.W + j;
    int64_t const tapBase = static_cast<int64_t>(b) * taps * outPlane + pixel;

    TapWeighting const weighting = TapWeighting::make(s.softmax, t.weight + tapBase, taps, outPlane);

    for (int cBegin = 0; cBegin < s.C; cBegin += kChannelChunk)
    {
        int const chunk = s.C - cBegin < kChannelChunk ? s.C - cBegin : kChannelChunk;
        T const* planes = t.image + (static_cast<int64_t>(b) * s.C + cBegin) * inPlane;
        float acc[kChannelChunk] = {};

        for (int k = 0; k < s.K; ++k)
        {
            for (int l = 0; l < s.K; ++l)
            {
                int64_t const tap = tapBase + static_cast<int64_t>(k * s.K + l) * outPlane;
                float const w = weighting(Storage<T>::load(t.weight + tap));
                TapSample const sample = makeTapSample(Storage<T>::load(t.offV + tap),
                    Storage<T>::load(t.offH + tap), i + k * s.dilation, j + l * s.dilation, s.Hin, s.Win);
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
                for (int c = 0; c < kChannelChunk; ++c)
                {
                    if (c < chunk)
                    {
                        acc[c] = acc[c] + w * sample.sample(planes + c * inPlane);
                    }
                }
            }
        }

        T* outPixel = t.out + (static_cast<int64_t>(b) * s.C + cBegin) * outPlane + pixel;
        for (int c = 0; c < chunk; ++c)
        {
            Storage<T>::store(outPixel + c * outPlane, acc[c]);
        }
    }
}

// ---- Host-only helpers (plain host functions; nvcc compiles them for the host side only) ----

// Checks the attributes; returns an empty string when they are valid, else a message for the user.
inline std::string warpAttributeError(int64_t kernelSize, int64_t dilation, int64_t softmax)
{
    if (kernelSize < 1 || kernelSize > kMaxKernelSize || kernelSize % 2 == 0)
    {
        return "kernel_size must be odd and in [1, " + std::to_string(kMaxKernelSize) + "], got "
            + std::to_string(kernelSize);
    }
    if (dilation < 1 || dilation > kMaxDilation)
    {
        return "dilation must be in [1, " + std::to_string(kMaxDilation) + "], got " + std::to_string(dilation);
    }
    if (softmax != 0 && softmax != 1)
    {
        return "softmax must be 0 or 1, got " + std::to_string(softmax);
    }
    return {};
}

// Input dims in input order (image, weight, offset_v, offset_h); a negative entry means "not known
// yet" (TensorRT build phase) and is skipped.
using WarpInputDims = std::array<std::array<int64_t, 4>, 4>;

// Checks the input shapes against each other and the attributes; returns an empty string when they
// are consistent, else a message naming the offending input and the expected value.
inline std::string warpShapeError(WarpInputDims const& in, int kernelSize, int dilation)
{
    static char const* const kNames[4] = {"image", "weight", "offset_v", "offset_h"};
    auto known = [](int64_t v) { return v >= 0; };
    auto mismatch = [&](int64_t got, int64_t want) { return known(got) && known(want) && got != want; };

    for (int t = 0; t < 4; ++t)
    {
        for (int64_t v : in[t])
        {
            if (v == 0 || v > INT32_MAX)
            {
                return std::string(kNames[t]) + " has a dimension of " + std::to_string(v)
                    + " (each must be in [1, 2^31-1])";
            }
        }
    }
    for (int t = 1; t < 4; ++t)
    {
        if (mismatch(in[t][0], in[0][0]))
        {
            return std::string(kNames[t]) + " batch " + std::to_string(in[t][0]) + " differs from image batch "
                + std::to_string(in[0][0]);
        }
    }
    int64_t const taps = static_cast<int64_t>(kernelSize) * kernelSize;
    for (int t = 1; t < 4; ++t)
    {
        if (mismatch(in[t][1], taps))
        {
            return std::string(kNames[t]) + " has " + std::to_string(in[t][1])
                + " channels, expected kernel_size^2 = " + std::to_string(taps);
        }
    }
    for (int t = 2; t < 4; ++t)
    {
        if (mismatch(in[t][2], in[1][2]) || mismatch(in[t][3], in[1][3]))
        {
            return std::string(kNames[t]) + " spatial size differs from weight's (weight, offset_v and offset_h "
                + "must all be [B, kernel_size^2, H, W])";
        }
    }
    if (in[0][2] > kMaxImageSide || in[0][3] > kMaxImageSide || in[0][2] * in[0][3] > INT32_MAX)
    {
        return "image plane of " + std::to_string(in[0][2]) + "x" + std::to_string(in[0][3])
            + " exceeds 2^23 per side or 2^31-1 elements";
    }
    int64_t const span = static_cast<int64_t>(kernelSize - 1) * dilation;
    for (int axis = 2; axis < 4; ++axis)
    {
        int64_t const out = in[1][axis];
        if (known(out) && mismatch(in[0][axis], out + span))
        {
            char const* const side = axis == 2 ? "height" : "width";
            return std::string("image ") + side + " " + std::to_string(in[0][axis]) + " must be the output " + side
                + " " + std::to_string(out) + " + (kernel_size-1)*dilation = " + std::to_string(out + span)
                + " (the image is replicate-padded by (kernel_size-1)*dilation/2 on each side)";
        }
    }
    return {};
}

// WarpShape of a call whose dims passed warpShapeError.
inline WarpShape makeWarpShape(WarpInputDims const& in, int kernelSize, int dilation, bool softmax)
{
    return WarpShape{static_cast<int>(in[0][0]), static_cast<int>(in[0][1]), static_cast<int>(in[1][2]),
        static_cast<int>(in[1][3]), static_cast<int>(in[0][2]), static_cast<int>(in[0][3]), kernelSize, dilation,
        softmax};
}

} // namespace stmfnet_trt
