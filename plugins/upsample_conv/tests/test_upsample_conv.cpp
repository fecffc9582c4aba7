// Host test of upsample_conv_cpu.h: the factored form (1x1 conv at low resolution, then the op)
// against the direct one (bilinear upsampling, then a zero-padded 3x3 conv, in double), for several
// sizes and scales including one-pixel maps; every ISA build and every band split give the same bits.
#include "host_check.h"
#include "upsample_conv_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using stmfnet_trt::AxisTaps;
using stmfnet_trt::UpsampleConvShape;
using stmfnet_trt::UpsampleConvTensors;

using stmfnet_trt::test::check;

namespace
{

struct Case
{
    int64_t n, cIn, c, h, w;
    int scale;
};

// r (N, Cin, h, w), weight (C, Cin, 3, 3), bias (C) -> conv3x3(U(r)) + bias in double.
std::vector<double> direct(Case const& k, std::vector<float> const& r, std::vector<float> const& weight,
    std::vector<float> const& bias)
{
    int64_t const H = k.h * k.scale, W = k.w * k.scale;
    AxisTaps const rows(k.h, H), cols(k.w, W);
    std::vector<double> up(static_cast<size_t>(k.n * k.cIn * H * W));
    for (int64_t p = 0; p < k.n * k.cIn; ++p)
    {
        float const* src = r.data() + p * k.h * k.w;
        for (int64_t y = 0; y < H; ++y)
        {
            for (int64_t x = 0; x < W; ++x)
            {
                double const top = cols.w0[x] * double(src[rows.i0[y] * k.w + cols.i0[x]])
                    + cols.w1[x] * double(src[rows.i0[y] * k.w + cols.i1[x]]);
                double const bottom = cols.w0[x] * double(src[rows.i1[y] * k.w + cols.i0[x]])
                    + cols.w1[x] * double(src[rows.i1[y] * k.w + cols.i1[x]]);
                up[(p * H + y) * W + x] = rows.w0[y] * top + rows.w1[y] * bottom;
            }
        }
    }
    std::vector<double> out(static_cast<size_t>(k.n * k.c * H * W));
    for (int64_t b = 0; b < k.n; ++b)
        for (int64_t o = 0; o < k.c; ++o)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                {
                    double acc = bias[o];
                    for (int64_t ci = 0; ci < k.cIn; ++ci)
                        for (int dy = 0; dy < 3; ++dy)
                            for (int dx = 0; dx < 3; ++dx)
                            {
                                int64_t const yy = y + dy - 1, xx = x + dx - 1;
                                if (yy >= 0 && yy < H && xx >= 0 && xx < W)
                                {
                                    acc += weight[((o * k.cIn + ci) * 3 + dy) * 3 + dx]
                                        * up[((b * k.cIn + ci) * H + yy) * W + xx];
                                }
                            }
                    out[((b * k.c + o) * H + y) * W + x] = acc;
                }
    return out;
}

// The 1x1 conv the exported graph runs before the op: taps[(o*3+dy)*3+dx] = sum_ci W[o,ci,dy,dx] r[ci].
std::vector<float> tapPlanes(Case const& k, std::vector<float> const& r, std::vector<float> const& weight)
{
    int64_t const plane = k.h * k.w;
    std::vector<float> taps(static_cast<size_t>(k.n * k.c * 9 * plane), 0.0f);
    for (int64_t b = 0; b < k.n; ++b)
        for (int64_t o = 0; o < k.c; ++o)
            for (int t = 0; t < 9; ++t)
                for (int64_t ci = 0; ci < k.cIn; ++ci)
                {
                    float const wv = weight[(o * k.cIn + ci) * 9 + t];
                    float* dst = taps.data() + ((b * k.c + o) * 9 + t) * plane;
                    float const* src = r.data() + (b * k.cIn + ci) * plane;
                    for (int64_t q = 0; q < plane; ++q)
                    {
                        dst[q] += wv * src[q];
                    }
                }
    return taps;
}

using RowsFn = void (*)(UpsampleConvShape const&, UpsampleConvTensors const&, AxisTaps const&, AxisTaps const&,
    int64_t, int64_t, int64_t, int64_t, float*);

std::vector<float> run(UpsampleConvShape const& s, std::vector<float> const& taps, std::vector<float> const& bias,
    RowsFn fn, int64_t band)
{
    std::vector<float> out(static_cast<size_t>(s.N * s.C * s.H() * s.W()), -7.0f);
    std::vector<float> scratch(static_cast<size_t>(stmfnet_trt::upsampleConvScratchSize(s)));
    AxisTaps const rows(s.h, s.H()), cols(s.w, s.W());
    UpsampleConvTensors const t{taps.data(), bias.data(), out.data()};
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t o = 0; o < s.C; ++o)
            for (int64_t y0 = 0; y0 < s.H(); y0 += band)
            {
                fn(s, t, rows, cols, n, o, y0, std::min(y0 + band, s.H()), scratch.data());
            }
    return out;
}

void testCase(Case const& k, std::mt19937& rng)
{
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto fill = [&](size_t count) {
        std::vector<float> v(count);
        for (float& x : v)
        {
            x = normal(rng);
        }
        return v;
    };
    std::vector<float> const r = fill(static_cast<size_t>(k.n * k.cIn * k.h * k.w));
    std::vector<float> const weight = fill(static_cast<size_t>(k.c * k.cIn * 9));
    std::vector<float> const bias = fill(static_cast<size_t>(k.c));
    std::vector<double> const want = direct(k, r, weight, bias);
    std::vector<float> const taps = tapPlanes(k, r, weight);
    UpsampleConvShape const s{k.n, k.c, k.h, k.w, k.scale};
    std::string const name = "n" + std::to_string(k.n) + " cin" + std::to_string(k.cIn) + " c" + std::to_string(k.c)
        + " " + std::to_string(k.h) + "x" + std::to_string(k.w) + " x" + std::to_string(k.scale);

    std::vector<float> const got = run(s, taps, bias, &stmfnet_trt::upsampleConvRowsHost, 64);
    double worst = 0.0, scale = 1.0;
    for (size_t q = 0; q < got.size(); ++q)
    {
        worst = std::max(worst, std::fabs(got[q] - want[q]));
        scale = std::max(scale, std::fabs(want[q]));
    }
    // float32 sums of ~9*Cin products of O(1) values: a few ulp of the output range.
    check(worst <= 2e-5 * scale, name + ": factored == direct conv3x3(upsample), max abs " + std::to_string(worst));

    check(run(s, taps, bias, &stmfnet_trt::upsampleConvRowsPortable, 3) == got, name + ": bands of 3 rows, portable build");
#if defined(__x86_64__) || defined(__i386__)
    if (stmfnet_trt::avx2Available())
    {
        check(run(s, taps, bias, &stmfnet_trt::upsampleConvRowsAvx2, 1) == got, name + ": bands of 1 row, AVX2 build");
    }
#endif
}

} // namespace

int main()
{
    std::mt19937 rng(7);
    Case const cases[] = {
        {1, 3, 2, 8, 11, 2},  // odd width
        {2, 4, 3, 5, 7, 4},   // batch, x4
        {1, 2, 2, 1, 1, 4},   // one low-res pixel
        {1, 2, 1, 1, 6, 2},   // one low-res row
        {1, 2, 2, 6, 1, 1},   // one column, scale 1 (plain 3x3 conv)
        {1, 5, 4, 16, 16, 3}, // odd scale
    };
    for (Case const& k : cases)
    {
        testCase(k, rng);
    }
    std::vector<int64_t> const bad = {1, 10, 4, 4};
    check(!stmfnet_trt::upsampleConvShapeError(bad.data(), 1, 2).empty(), "taps channels not a multiple of 9 refused");
    std::vector<int64_t> const good = {1, 18, 4, 4};
    check(!stmfnet_trt::upsampleConvShapeError(good.data(), 3, 2).empty(), "bias of the wrong length refused");
    check(!stmfnet_trt::upsampleConvShapeError(good.data(), 2, 0).empty(), "scale 0 refused");
    check(stmfnet_trt::upsampleConvShapeError(good.data(), 2, 4).empty(), "valid shape accepted");
    return stmfnet_trt::test::exitStatus();
}
