// The UpsampleConv3x3 op on a CPU: a 3x3 convolution (zero padding 1) of a bilinearly upsampled
// map (align_corners=True, integer factor s), computed without the upsampled map.
//
// Why: the prediction heads of ST-MFNet end in ReLU -> Upsample(x2 or x4) -> Conv3x3(25 -> 25). At
// full (or twice full) resolution that conv is ~22 of the ~82 GFLOP of a 256x256 frame, on 25
// channels that ONNX Runtime's blocked kernels do not take. Upsampling is linear and separable, so
//
//   conv3x3(U(r))[o, Y, X] = b[o] + sum_{dy,dx} U(z[o, dy, dx])[Y + dy - 1, X + dx - 1]
//   with z[(o, dy, dx), i, j] = sum_c W[o, c, dy, dx] r[c, i, j]    (a 1x1 conv at LOW resolution)
//
// and U(p)[P, Q] = sum_i sum_j Ly[P, i] Lx[Q, j] p[i, j] has two non-zero weights per axis. The
// graph computes z (a standard 1x1 Conv, 9*C output channels); this op evaluates the shifted sum:
// per low-res row i a horizontal pass T[dy](i, X) = sum_dx sum_j Lx[X + dx - 1, j] z[o, dy, dx, i, j]
// (six taps per output column), then per output row Y a vertical pass over the two low-res rows of
// each dy (six rows). About 10 multiply-adds per output value instead of the conv's 9*C = 225, and
// no 2x/4x map is ever stored. Positions outside the upsampled map contribute nothing (the conv's
// zero padding), so the border rows and columns skip those taps instead of weighting them by zero.
//
// Output rows are computed in bands (the unit of threading). A band keeps, per dy, the two low-res
// rows its current output row reads in a two-slot ring: consecutive output rows read the same or
// the next low-res rows (s >= 1), so each horizontal row is computed once per band.
//
// Two builds of the same loops, as warp_cpu.h: the baseline ISA and, on x86-64, AVX2 chosen at run
// time; with floating-point contraction off (the build's flags) both give the same bits.
#pragma once

#include "cpu_isa.h"

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <string>
#include <vector>

#if defined(__GNUC__)
#define UC_FORCEINLINE inline __attribute__((always_inline))
#else
#define UC_FORCEINLINE inline
#endif

namespace stmfnet_trt
{

constexpr int kUpsampleConvTaps = 9; // 3 x 3
constexpr int kMaxUpsampleScale = 64;

// taps: (N, 9*C, h, w) float32, channel (o*3 + dy)*3 + dx; bias: (C); out: (N, C, s*h, s*w).
struct UpsampleConvShape
{
    int64_t N, C, h, w;
    int scale;

    int64_t H() const
    {
        return h * scale;
    }
    int64_t W() const
    {
        return w * scale;
    }
};

struct UpsampleConvTensors
{
    float const* taps;
    float const* bias;
    float* out;
};

// Empty when the dims (taps: N, 9*C, h, w; bias length; -1 = not known yet) and scale are valid.
inline std::string upsampleConvShapeError(int64_t const tapsDims[4], int64_t biasLength, int64_t scale)
{
    if (scale < 1 || scale > kMaxUpsampleScale)
    {
        return "scale must be in [1, " + std::to_string(kMaxUpsampleScale) + "], got " + std::to_string(scale);
    }
    int64_t const channels = tapsDims[1];
    if (channels >= 0 && channels % kUpsampleConvTaps != 0)
    {
        return "taps must have 9*C channels (3x3 taps per output channel), got " + std::to_string(channels);
    }
    if (channels >= 0 && biasLength >= 0 && biasLength != channels / kUpsampleConvTaps)
    {
        return "bias must have C = " + std::to_string(channels / kUpsampleConvTaps) + " values, got "
            + std::to_string(biasLength);
    }
    for (int axis : {2, 3})
    {
        if (tapsDims[axis] == 0)
        {
            return "taps must not be empty (height and width >= 1)";
        }
    }
    return "";
}

// Bilinear source taps (align_corners=True) of every upsampled position P in [0, high): rows i0/i1
// and weights w0/w1, computed as PyTorch's CPU upsample does (float ratio, truncation, clamp).
struct AxisTaps
{
    std::vector<int32_t> i0, i1;
    std::vector<float> w0, w1;

    AxisTaps(int64_t low, int64_t high)
        : i0(high)
        , i1(high)
        , w0(high)
        , w1(high)
    {
        float const ratio = high > 1 ? static_cast<float>(low - 1) / static_cast<float>(high - 1) : 0.0f;
        for (int64_t p = 0; p < high; ++p)
        {
            float const src = ratio * static_cast<float>(p);
            int64_t const first = static_cast<int64_t>(src) < low - 1 ? static_cast<int64_t>(src) : low - 1;
            float lambda = src - static_cast<float>(first);
            lambda = lambda < 0.0f ? 0.0f : (lambda > 1.0f ? 1.0f : lambda);
            i0[p] = static_cast<int32_t>(first);
            i1[p] = static_cast<int32_t>(first < low - 1 ? first + 1 : first);
            w0[p] = 1.0f - lambda;
            w1[p] = lambda;
        }
    }
};

namespace upsample_conv
{

// One output channel's tap planes: plane(dy, dx) of (n, o).
struct TapPlanes
{
    float const* base; // plane (dy = 0, dx = 0)
    int64_t planeSize; // h * w

    UC_FORCEINLINE float const* plane(int dy, int dx) const
    {
        return base + (dy * 3 + dx) * planeSize;
    }
};

// Column x of T[dy](i, .) where some shifts fall outside the upsampled row: those are the conv's
// zero padding and are skipped.
UC_FORCEINLINE void borderColumn(float const* z0, float const* z1, float const* z2, AxisTaps const& cols, int64_t W,
    int64_t x, float* row)
{
    float const* const z[3] = {z0, z1, z2};
    float acc = 0.0f;
    for (int dx = 0; dx < 3; ++dx)
    {
        int64_t const q = x + dx - 1;
        if (q >= 0 && q < W)
        {
            acc += cols.w0[q] * z[dx][cols.i0[q]] + cols.w1[q] * z[dx][cols.i1[q]];
        }
    }
    row[x] = acc;
}

#if defined(__x86_64__) || defined(__i386__)
// Interior columns of T[dy](i, .) eight at a time; returns the first column it left to the scalar
// loop. For s >= 2 the ten upsampled positions X0-1 .. X0+8 that a block of eight reads lie within
// eight consecutive low-res columns, so one unaligned load of those and an in-register permute
// replace the 48 scalar loads (or gathers) per block; blocks where that does not hold (s = 1, or
// a row narrower than eight) are left to the scalar loop. Each lane does exactly the scalar loop's
// operations in its order, so the bits are the same.
__attribute__((target("avx2"))) inline int64_t horizontalBlocksAvx2(float const* z0, float const* z1,
    float const* z2, AxisTaps const& cols, int64_t w, int64_t W, float* row)
{
    int32_t const* const a = cols.i0.data();
    int32_t const* const b = cols.i1.data();
    float const* const u = cols.w0.data();
    float const* const v = cols.w1.data();
    float const* const z[3] = {z0, z1, z2};
    int64_t x = 1;
    if (w < 8)
    {
        return x;
    }
    for (; x + 8 < W; x += 8)
    {
        int32_t const base = a[x - 1] < w - 8 ? a[x - 1] : static_cast<int32_t>(w - 8);
        if (b[x + 8] - base > 7)
        {
            return x;
        }
        __m256i const shift = _mm256_set1_epi32(base);
        __m256 acc = _mm256_setzero_ps();
        for (int dx = 0; dx < 3; ++dx)
        {
            int64_t const q = x + dx - 1;
            __m256 const low = _mm256_loadu_ps(z[dx] + base);
            __m256i const ia = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<__m256i const*>(a + q)), shift);
            __m256i const ib = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<__m256i const*>(b + q)), shift);
            __m256 const tap = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(u + q), _mm256_permutevar8x32_ps(low, ia)),
                _mm256_mul_ps(_mm256_loadu_ps(v + q), _mm256_permutevar8x32_ps(low, ib)));
            acc = dx == 0 ? tap : _mm256_add_ps(acc, tap);
        }
        _mm256_storeu_ps(row + x, acc);
    }
    return x;
}
#endif

// T[dy](i, X) for every X: the upsampled-and-shifted sum over dx of low-res row i.
template <bool Avx2>
UC_FORCEINLINE void horizontalRow(TapPlanes const& t, AxisTaps const& cols, int64_t w, int64_t W, int dy, int64_t i,
    float* row)
{
    float const* const z0 = t.plane(dy, 0) + i * w;
    float const* const z1 = t.plane(dy, 1) + i * w;
    float const* const z2 = t.plane(dy, 2) + i * w;
    int32_t const* const a = cols.i0.data();
    int32_t const* const b = cols.i1.data();
    float const* const u = cols.w0.data();
    float const* const v = cols.w1.data();
    // Interior columns: all three shifts X-1, X, X+1 lie inside the upsampled row.
    int64_t x = 1;
#if defined(__x86_64__) || defined(__i386__)
    if constexpr (Avx2)
    {
        x = horizontalBlocksAvx2(z0, z1, z2, cols, w, W, row);
    }
#endif
    for (; x + 1 < W; ++x)
    {
        float acc = u[x - 1] * z0[a[x - 1]] + v[x - 1] * z0[b[x - 1]];
        acc += u[x] * z1[a[x]] + v[x] * z1[b[x]];
        acc += u[x + 1] * z2[a[x + 1]] + v[x + 1] * z2[b[x + 1]];
        row[x] = acc;
    }
    borderColumn(z0, z1, z2, cols, W, 0, row);
    if (W > 1)
    {
        borderColumn(z0, z1, z2, cols, W, W - 1, row);
    }
}

// Per shift dy, the two low-res rows that output rows read lately (slot = row index & 1).
template <bool Avx2>
struct RowRing
{
    float* scratch;      // 3 shifts x 2 slots x W floats
    int64_t cached[3][2];

    UC_FORCEINLINE float const* get(TapPlanes const& t, AxisTaps const& cols, int64_t w, int64_t W, int dy, int64_t i)
    {
        int const slot = static_cast<int>(i & 1);
        float* const row = scratch + (dy * 2 + slot) * W;
        if (cached[dy][slot] != i)
        {
            horizontalRow<Avx2>(t, cols, w, W, dy, i, row);
            cached[dy][slot] = i;
        }
        return row;
    }
};

// One output row whose three shifts all lie inside: bias + the three (dy) two-row blends, summed in
// the order the border rows' loop uses, so every row is computed alike.
UC_FORCEINLINE void verticalRow(float* __restrict__ o, int64_t W, float bias, float const* const ra[3],
    float const* const rb[3], float const wa[3], float const wb[3])
{
    float const* __restrict__ const a0 = ra[0];
    float const* __restrict__ const b0 = rb[0];
    float const* __restrict__ const a1 = ra[1];
    float const* __restrict__ const b1 = rb[1];
    float const* __restrict__ const a2 = ra[2];
    float const* __restrict__ const b2 = rb[2];
    for (int64_t x = 0; x < W; ++x)
    {
        float acc = bias;
        acc += wa[0] * a0[x] + wb[0] * b0[x];
        acc += wa[1] * a1[x] + wb[1] * b1[x];
        acc += wa[2] * a2[x] + wb[2] * b2[x];
        o[x] = acc;
    }
}

// Output rows [y0, y1) of channel plane (n, o). `scratch` holds 3 shifts x 2 ring slots x W floats.
template <bool Avx2>
UC_FORCEINLINE void bandRows(UpsampleConvShape const& s, TapPlanes const& t, float bias, AxisTaps const& rows,
    AxisTaps const& cols, int64_t y0, int64_t y1, float* out, float* scratch)
{
    int64_t const H = s.H();
    int64_t const W = s.W();
    RowRing<Avx2> ring{scratch, {{-1, -1}, {-1, -1}, {-1, -1}}};
    for (int64_t y = y0; y < y1; ++y)
    {
        float* const o = out + y * W;
        if (y > 0 && y + 1 < H)
        {
            // Interior row: all three shifts inside; one pass, the sum kept in a register.
            float const* ra[3];
            float const* rb[3];
            float wa[3], wb[3];
            for (int dy = 0; dy < 3; ++dy)
            {
                int64_t const p = y + dy - 1;
                ra[dy] = ring.get(t, cols, s.w, W, dy, rows.i0[p]);
                rb[dy] = ring.get(t, cols, s.w, W, dy, rows.i1[p]);
                wa[dy] = rows.w0[p];
                wb[dy] = rows.w1[p];
            }
            verticalRow(o, W, bias, ra, rb, wa, wb);
            continue;
        }
        for (int64_t x = 0; x < W; ++x)
        {
            o[x] = bias;
        }
        for (int dy = 0; dy < 3; ++dy)
        {
            int64_t const p = y + dy - 1;
            if (p < 0 || p >= H)
            {
                continue; // zero padding
            }
            float const* const ra = ring.get(t, cols, s.w, W, dy, rows.i0[p]);
            float const* const rb = ring.get(t, cols, s.w, W, dy, rows.i1[p]);
            float const wa = rows.w0[p];
            float const wb = rows.w1[p];
            for (int64_t x = 0; x < W; ++x)
            {
                o[x] += wa * ra[x] + wb * rb[x];
            }
        }
    }
}

// Output rows [y0, y1) of plane (n, o): its tap planes, bias and output plane located.
template <bool Avx2>
UC_FORCEINLINE void planeRows(UpsampleConvShape const& s, UpsampleConvTensors const& t, AxisTaps const& rows,
    AxisTaps const& cols, int64_t n, int64_t o, int64_t y0, int64_t y1, float* scratch)
{
    int64_t const plane = s.h * s.w;
    TapPlanes const taps{t.taps + (n * s.C + o) * kUpsampleConvTaps * plane, plane};
    bandRows<Avx2>(s, taps, t.bias[o], rows, cols, y0, y1, t.out + (n * s.C + o) * s.H() * s.W(), scratch);
}

} // namespace upsample_conv

// Output rows [y0, y1) of plane (n, o), portable build.
inline void upsampleConvRowsPortable(UpsampleConvShape const& s, UpsampleConvTensors const& t, AxisTaps const& rows,
    AxisTaps const& cols, int64_t n, int64_t o, int64_t y0, int64_t y1, float* scratch)
{
    upsample_conv::planeRows<false>(s, t, rows, cols, n, o, y0, y1, scratch);
}

#if defined(__x86_64__) || defined(__i386__)
// The same loops for AVX2: 8 lanes, the horizontal pass through horizontalBlocksAvx2.
__attribute__((target("avx2"))) inline void upsampleConvRowsAvx2(UpsampleConvShape const& s,
    UpsampleConvTensors const& t, AxisTaps const& rows, AxisTaps const& cols, int64_t n, int64_t o, int64_t y0,
    int64_t y1, float* scratch)
{
    upsample_conv::planeRows<true>(s, t, rows, cols, n, o, y0, y1, scratch);
}
#endif

// Floats of scratch one band needs.
inline int64_t upsampleConvScratchSize(UpsampleConvShape const& s)
{
    return 3 * 2 * s.W();
}

// CPU entry point: output rows [y0, y1) of plane (n, o) with the fastest build this CPU runs.
inline void upsampleConvRowsHost(UpsampleConvShape const& s, UpsampleConvTensors const& t, AxisTaps const& rows,
    AxisTaps const& cols, int64_t n, int64_t o, int64_t y0, int64_t y1, float* scratch)
{
#if defined(__x86_64__) || defined(__i386__)
    if (avx2Available())
    {
        upsampleConvRowsAvx2(s, t, rows, cols, n, o, y0, y1, scratch);
        return;
    }
#endif
    upsampleConvRowsPortable(s, t, rows, cols, n, o, y0, y1, scratch);
}

} // namespace stmfnet_trt
