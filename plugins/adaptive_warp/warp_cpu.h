// The AdaptiveWarp op on a CPU (ONNX Runtime op, ctest): warp_math.h's per-tap arithmetic in loops
// that compilers vectorise. Host-only; the CUDA kernel does not include this file.
//
// warpPixel() (one output pixel, all taps) is the natural shape for a GPU thread but not for SIMD:
// its tap loop reads 3*K*K values a whole plane apart and calls expf, so nothing vectorises. Here a
// block of kBlock pixels of one output row is processed tap by tap instead: for each tap the
// weights and offsets of the block are contiguous, every step (softmax reductions, truncation,
// clamping, corner indices, the four gathers and the blend) is the same straight-line code for
// every pixel, and the channel accumulators of the block stay in L1. Each pixel still sums its
// taps k-outer / l-inner with exactly warpPixel's expressions (TapWeighting, makeTapSample,
// TapSample::sample), so - with floating-point contraction off, as the build sets it - the result
// is bit for bit the per-pixel one, whatever the vector width.
//
// Two builds of the same loops: the compiler's baseline ISA (SSE2 on x86-64, NEON on AArch64) and,
// on x86-64, an AVX2 one (8 lanes, hardware gathers) chosen at run time, so the library loads and
// runs on CPUs without AVX2.
#pragma once

#include "cpu_isa.h"
#include "warp_math.h"

#include <type_traits>

namespace stmfnet_trt
{
namespace cpu
{

// Output pixels of one row processed together: 4 channel accumulators + max + sum per pixel stay
// well inside L1 (64 * 6 * 4 B = 1.5 KB).
constexpr int kBlock = 64;

// Output pixels (b, i, j0 .. j0+n) for channels [cBegin, cBegin+CH). Everything called from here is
// SW_FORCEINLINE, so each ISA build below gets its own copy of the whole loop nest (no shared
// out-of-line helper compiled for the wrong ISA).
template <typename T, bool Softmax, int CH>
SW_FORCEINLINE void warpBlock(WarpShape const& s, WarpTensors<T> const& t, int b, int i, int j0, int n, int cBegin)
{
    int const taps = s.K * s.K;
    int64_t const outPlane = static_cast<int64_t>(s.H) * s.W;
    int64_t const inPlane = static_cast<int64_t>(s.Hin) * s.Win;
    int64_t const first = static_cast<int64_t>(b) * taps * outPlane + static_cast<int64_t>(i) * s.W + j0;
    T const* const weight = t.weight + first; // tap 0 of pixel (b, i, j0); tap m is m * outPlane further
    T const* const offV = t.offV + first;
    T const* const offH = t.offH + first;
    T const* const planes = t.image + (static_cast<int64_t>(b) * s.C + cBegin) * inPlane;

    // The softmax's per-pixel max and sum, reduced over the taps in tap order like TapWeighting::make.
    float maxLogit[kBlock];
    float sumExp[kBlock];
    if (Softmax)
    {
        for (int j = 0; j < n; ++j)
        {
            maxLogit[j] = Storage<T>::load(weight + j);
            sumExp[j] = 0.0f;
        }
        for (int m = 1; m < taps; ++m)
        {
            T const* const w = weight + m * outPlane;
            for (int j = 0; j < n; ++j)
            {
                maxLogit[j] = softmaxMax(maxLogit[j], Storage<T>::load(w + j));
            }
        }
        for (int m = 0; m < taps; ++m)
        {
            T const* const w = weight + m * outPlane;
            for (int j = 0; j < n; ++j)
            {
                sumExp[j] += softmaxExp(Storage<T>::load(w + j) - maxLogit[j]);
            }
        }
    }

    float acc[CH][kBlock];
    for (int c = 0; c < CH; ++c)
    {
        for (int j = 0; j < n; ++j)
        {
            acc[c][j] = 0.0f;
        }
    }
    for (int k = 0; k < s.K; ++k)
    {
        for (int l = 0; l < s.K; ++l)
        {
            int64_t const tap = static_cast<int64_t>(k * s.K + l) * outPlane;
            int const baseRow = i + k * s.dilation;
            int const baseCol = j0 + l * s.dilation;
            for (int j = 0; j < n; ++j)
            {
                float const raw = Storage<T>::load(weight + tap + j);
                float const w = Softmax ? TapWeighting{true, maxLogit[j], sumExp[j]}(raw) : raw;
                TapSample const sample = makeTapSample(Storage<T>::load(offV + tap + j),
                    Storage<T>::load(offH + tap + j), baseRow, baseCol + j, s.Hin, s.Win);
#pragma GCC unroll 4
                for (int c = 0; c < CH; ++c)
                {
                    acc[c][j] = acc[c][j] + w * sample.sample(planes + c * inPlane);
                }
            }
        }
    }

    T* const out = t.out + (static_cast<int64_t>(b) * s.C + cBegin) * outPlane + static_cast<int64_t>(i) * s.W + j0;
    for (int c = 0; c < CH; ++c)
    {
        for (int j = 0; j < n; ++j)
        {
            Storage<T>::store(out + c * outPlane + j, acc[c][j]);
        }
    }
}

template <typename T, bool Softmax>
SW_FORCEINLINE void warpChunk(WarpShape const& s, WarpTensors<T> const& t, int b, int i, int j0, int n, int cBegin)
{
    int const chunk = s.C - cBegin < kChannelChunk ? s.C - cBegin : kChannelChunk;
    static_assert(kChannelChunk == 4, "one case per chunk size below");
    switch (chunk)
    {
    case 1: warpBlock<T, Softmax, 1>(s, t, b, i, j0, n, cBegin); break;
    case 2: warpBlock<T, Softmax, 2>(s, t, b, i, j0, n, cBegin); break;
    case 3: warpBlock<T, Softmax, 3>(s, t, b, i, j0, n, cBegin); break;
    default: warpBlock<T, Softmax, 4>(s, t, b, i, j0, n, cBegin); break;
    }
}

// Output rows [rowBegin, rowEnd) of the flattened (b, i) row index b*H + i. Each output element is
// computed by exactly one call in a fixed order, so splitting the rows over threads gives the same
// bits as one thread.
template <typename T>
SW_FORCEINLINE void warpRows(WarpShape const& s, WarpTensors<T> const& t, int64_t rowBegin, int64_t rowEnd)
{
    for (int64_t row = rowBegin; row < rowEnd; ++row)
    {
        int const b = static_cast<int>(row / s.H);
        int const i = static_cast<int>(row % s.H);
        for (int j0 = 0; j0 < s.W; j0 += kBlock)
        {
            int const n = s.W - j0 < kBlock ? s.W - j0 : kBlock;
            for (int cBegin = 0; cBegin < s.C; cBegin += kChannelChunk)
            {
                if (s.softmax)
                {
                    warpChunk<T, true>(s, t, b, i, j0, n, cBegin);
                }
                else
                {
                    warpChunk<T, false>(s, t, b, i, j0, n, cBegin);
                }
            }
        }
    }
}

} // namespace cpu

// The row loop for the compiler's baseline ISA: every storage type, every CPU.
template <typename T>
void warpRowsPortable(WarpShape const& s, WarpTensors<T> const& t, int64_t rowBegin, int64_t rowEnd)
{
    cpu::warpRows(s, t, rowBegin, rowEnd);
}

#if defined(__x86_64__) || defined(__i386__)
// The same loops built for AVX2 (FP32 only: FP16 storage on a CPU is a conversion path, not a
// speed path). Only called after avx2Available() said yes.
__attribute__((target("avx2"))) inline void warpRowsAvx2(
    WarpShape const& s, WarpTensors<float> const& t, int64_t rowBegin, int64_t rowEnd)
{
    cpu::warpRows(s, t, rowBegin, rowEnd);
}
#endif

// CPU entry point: the fastest build this CPU runs; the same bits from every build.
template <typename T>
void warpRowsHost(WarpShape const& s, WarpTensors<T> const& t, int64_t rowBegin, int64_t rowEnd)
{
#if defined(__x86_64__) || defined(__i386__)
    if constexpr (std::is_same<T, float>::value)
    {
        if (avx2Available())
        {
            warpRowsAvx2(s, t, rowBegin, rowEnd);
            return;
        }
    }
#endif
    warpRowsPortable(s, t, rowBegin, rowEnd);
}

} // namespace stmfnet_trt
