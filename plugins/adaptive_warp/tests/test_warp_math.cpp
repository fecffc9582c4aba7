// Host test of warp_math.h and warp_cpu.h: the same warpRowsHost() the ONNX Runtime op runs, against
// the golden cases of the spec (K = 5, d = 1) and the K = 3, d = 2 case made with warp_loop; and
// every CPU build of the row loop against warpPixel(), the per-pixel form the CUDA kernel runs.
//
// Usage: test_warp_math <dir with golden_case*.bin and extra_*.bin>
#include "host_check.h"
#include "warp_case_io.h"
#include "warp_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using stmfnet_trt::WarpInputDims;
using stmfnet_trt::WarpShape;
using stmfnet_trt::WarpTensors;
using stmfnet_trt::test::WarpCase;

using stmfnet_trt::test::check;

namespace
{

constexpr double kTolerance = 1e-5; // golden README section 1

WarpShape shapeOf(WarpCase const& c, bool softmax)
{
    WarpInputDims const dims{c.image.dims, c.weight.dims, c.offV.dims, c.offH.dims};
    std::string const err = stmfnet_trt::warpShapeError(dims, c.kernelSize, c.dilation);
    if (!err.empty())
    {
        throw std::runtime_error(c.name + ": " + err);
    }
    return stmfnet_trt::makeWarpShape(dims, c.kernelSize, c.dilation, softmax);
}

// One implementation of "compute output rows [begin, end)".
using RowsFn = std::function<void(WarpShape const&, WarpTensors<float> const&, int64_t, int64_t)>;

void rowsHost(WarpShape const& s, WarpTensors<float> const& t, int64_t begin, int64_t end)
{
    stmfnet_trt::warpRowsHost(s, t, begin, end);
}

// warpPixel() pixel by pixel: what each CUDA thread computes.
void rowsPerPixel(WarpShape const& s, WarpTensors<float> const& t, int64_t begin, int64_t end)
{
    for (int64_t row = begin; row < end; ++row)
    {
        for (int j = 0; j < s.W; ++j)
        {
            stmfnet_trt::warpPixel(s, t, static_cast<int>(row / s.H), static_cast<int>(row % s.H), j);
        }
    }
}

// Runs the warp over all rows, split into `threads` contiguous row ranges run concurrently.
std::vector<float> runWarp(WarpShape const& s, float const* image, float const* weight, float const* offV,
    float const* offH, int threads = 1, RowsFn const& rows = rowsHost)
{
    std::vector<float> out(static_cast<size_t>(s.B) * s.C * s.H * s.W, std::nanf(""));
    WarpTensors<float> const t{image, weight, offV, offH, out.data()};
    int64_t const count = static_cast<int64_t>(s.B) * s.H;
    std::vector<std::thread> pool;
    for (int p = 0; p < threads; ++p)
    {
        pool.emplace_back([&, p] { rows(s, t, count * p / threads, count * (p + 1) / threads); });
    }
    for (auto& th : pool)
    {
        th.join();
    }
    return out;
}

std::vector<float> runWarp(WarpCase const& c, std::vector<float> const& weight, bool softmax, int threads = 1)
{
    return runWarp(
        shapeOf(c, softmax), c.image.data.data(), weight.data(), c.offV.data.data(), c.offH.data.data(), threads);
}

double maxAbsDiff(std::vector<float> const& a, std::vector<float> const& b)
{
    double worst = 0.0;
    for (size_t n = 0; n < a.size(); ++n)
    {
        double const d = std::fabs(static_cast<double>(a[n]) - b[n]);
        worst = std::isnan(d) ? INFINITY : std::max(worst, d);
    }
    return worst;
}

bool allFinite(std::vector<float> const& v)
{
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

std::string fmt(char const* pattern, double value)
{
    char buf[64];
    std::snprintf(buf, sizeof(buf), pattern, value);
    return buf;
}

void testForward(WarpCase const& c)
{
    double const err = maxAbsDiff(runWarp(c, c.weight.data, false), c.output.data);
    check(err <= kTolerance, c.name + ": forward vs reference, max abs " + fmt("%.3g", err));
}

// softmax = 1 with logits = log(weight) must give the same result: softmax(log w) = w when w sums to 1.
void testSoftmaxOfLogWeights(WarpCase const& c)
{
    std::vector<float> logits(c.weight.data.size());
    std::transform(c.weight.data.begin(), c.weight.data.end(), logits.begin(), [](float w) { return std::log(w); });
    double const err = maxAbsDiff(runWarp(c, logits, true), c.output.data);
    check(err <= kTolerance, c.name + ": softmax(log weight) vs reference, max abs " + fmt("%.3g", err));
}

// Logits of +-1e4 overflow a naive exp; the max-subtracted softmax must give a one-hot (or uniform)
// weighting, i.e. exactly what softmax = 0 gives with those weights.
void testLargeLogits(WarpCase const& c)
{
    size_t const taps = static_cast<size_t>(c.kernelSize) * c.kernelSize;
    size_t const plane = static_cast<size_t>(c.weight.dims[2] * c.weight.dims[3]);
    size_t const batch = static_cast<size_t>(c.weight.dims[0]);
    std::vector<float> logits(c.weight.data.size());
    std::vector<float> oneHot(c.weight.data.size());
    for (size_t b = 0; b < batch; ++b)
    {
        for (size_t n = 0; n < taps; ++n)
        {
            for (size_t p = 0; p < plane; ++p)
            {
                bool const hot = n == (p * 7 + b) % taps; // a different winning tap per pixel
                size_t const idx = (b * taps + n) * plane + p;
                logits[idx] = hot ? 1e4f : -1e4f;
                oneHot[idx] = hot ? 1.0f : 0.0f;
            }
        }
    }
    std::vector<float> const got = runWarp(c, logits, true);
    double const err = maxAbsDiff(got, runWarp(c, oneHot, false));
    check(allFinite(got) && err == 0.0, c.name + ": logits +-1e4 give the one-hot result, max abs " + fmt("%.3g", err));

    std::vector<float> const flat(c.weight.data.size(), 1e4f);
    std::vector<float> const uniform(c.weight.data.size(), 1.0f / static_cast<float>(taps));
    double const errUniform = maxAbsDiff(runWarp(c, flat, true), runWarp(c, uniform, false));
    check(errUniform <= 1e-6, c.name + ": equal logits of 1e4 give uniform weights, max abs " + fmt("%.3g", errUniform));
}

// Rows split over threads must give the same bits as one thread (each element has one writer).
void testThreadedRowsAreDeterministic(WarpCase const& c)
{
    std::vector<float> const one = runWarp(c, c.weight.data, false, 1);
    std::vector<float> const three = runWarp(c, c.weight.data, false, 3);
    check(std::memcmp(one.data(), three.data(), one.size() * sizeof(float)) == 0,
        c.name + ": 3 threads give the same bits as 1");
}

bool sameBits(std::vector<float> const& a, std::vector<float> const& b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The vectorised row loop (each CPU build of it) must give warpPixel's bits: same expressions, same
// tap order, no contraction. A wide, many-channel random case covers several pixel blocks, a
// partial block and channel chunks of 4 and 3; logits of both signs and large offsets reach the
// clamps and the softmax's flush to zero.
void testRowBuildsMatchPerPixel()
{
    int const B = 2;
    int const C = 7;
    int const H = 5;
    int const W = 150;
    int const K = 5;
    int const d = 1;
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto fill = [&](size_t n, float scale) {
        std::vector<float> v(n);
        for (float& x : v)
        {
            x = scale * normal(rng);
        }
        return v;
    };
    size_t const taps = static_cast<size_t>(B) * K * K * H * W;
    std::vector<float> const image = fill(static_cast<size_t>(B) * C * (H + 4) * (W + 4), 1.0f);
    std::vector<float> const logits = fill(taps, 30.0f);
    std::vector<float> const offV = fill(taps, 4.0f);
    std::vector<float> const offH = fill(taps, 4.0f);
    for (bool const softmax : {false, true})
    {
        WarpShape const s{B, C, H, W, H + (K - 1) * d, W + (K - 1) * d, K, d, softmax};
        std::string const what = softmax ? " (softmax)" : " (weights)";
        auto run = [&](RowsFn const& rows) {
            return runWarp(s, image.data(), logits.data(), offV.data(), offH.data(), 1, rows);
        };
        std::vector<float> const reference = run(rowsPerPixel);
        check(allFinite(reference), "per-pixel reference is finite" + what);
        check(sameBits(run(stmfnet_trt::warpRowsPortable<float>), reference),
            "portable row loop gives warpPixel's bits" + what);
#if defined(__x86_64__) || defined(__i386__)
        if (stmfnet_trt::avx2Available())
        {
            check(sameBits(run(stmfnet_trt::warpRowsAvx2), reference), "AVX2 row loop gives warpPixel's bits" + what);
        }
        else
        {
            std::printf("SKIP AVX2 row loop: this CPU has no AVX2\n");
        }
#endif
    }
}

// softmaxExp against double-precision exp over its domain; exact at 0 and 0 below the denormals.
void testSoftmaxExp()
{
    double worst = 0.0;
    for (float x = -87.0f; x <= 0.0f; x += 0.001f)
    {
        double const want = std::exp(static_cast<double>(x));
        worst = std::max(worst, std::fabs(stmfnet_trt::softmaxExp(x) - want) / want);
    }
    check(worst < 5e-7, "softmaxExp relative error on [-87, 0]: " + fmt("%.3g", worst));
    check(stmfnet_trt::softmaxExp(0.0f) == 1.0f, "softmaxExp(0) is exactly 1");
    check(stmfnet_trt::softmaxExp(-1e4f) == 0.0f && stmfnet_trt::softmaxExp(-INFINITY) == 0.0f,
        "softmaxExp of -1e4 and -inf is exactly 0");
    check(std::isnan(stmfnet_trt::softmaxExp(NAN)), "softmaxExp(NaN) is NaN");
}

// ARCHITECTURE.md 7.3 worked example: offset -0.3 at padded row 12 reads rows 12 and 13 with
// weights 1.3 and -0.3 (truncation, not floor): 1.3 * 1.0 - 0.3 * 0.4 = 1.18.
void testWorkedExample()
{
    int const H = 20;
    int const W = 3;
    std::vector<float> image(H * W, 0.0f);
    image[11 * W + 1] = 0.2f;
    image[12 * W + 1] = 1.0f;
    image[13 * W + 1] = 0.4f;
    std::vector<float> weight(H * W, 1.0f);
    std::vector<float> offV(H * W, 0.0f);
    std::vector<float> offH(H * W, 0.0f);
    std::vector<float> out(H * W, 0.0f);
    offV[12 * W + 1] = -0.3f;
    WarpShape const s{1, 1, H, W, H, W, 1, 1, false};
    stmfnet_trt::warpRowsHost(s, WarpTensors<float>{image.data(), weight.data(), offV.data(), offH.data(), out.data()},
        0, H);
    check(std::fabs(out[12 * W + 1] - 1.18f) < 1e-6f, "worked example (truncation): " + fmt("%.6f", out[12 * W + 1]));
}

void testValidation()
{
    using stmfnet_trt::warpAttributeError;
    using stmfnet_trt::warpShapeError;
    check(warpAttributeError(5, 1, 0).empty() && warpAttributeError(1, 64, 1).empty(), "valid attributes accepted");
    check(warpAttributeError(4, 1, 0).find("odd") != std::string::npos, "even kernel_size rejected");
    check(!warpAttributeError(-3, 1, 0).empty() && !warpAttributeError(33, 1, 0).empty(), "kernel_size range");
    check(!warpAttributeError(5, 0, 0).empty() && !warpAttributeError(5, 1, 2).empty(), "dilation/softmax range");

    std::array<int64_t, 4> const taps{1, 25, 7, 9};
    check(warpShapeError({{{1, 3, 11, 13}, taps, taps, taps}}, 5, 1).empty(), "consistent shapes accepted");
    check(warpShapeError({{{-1, 3, -1, -1}, {-1, 25, -1, -1}, taps, taps}}, 5, 1).empty(), "unknown dims skipped");
    check(warpShapeError({{{1, 3, 7, 9}, taps, taps, taps}}, 5, 1).find("image height 7 must be") != std::string::npos,
        "unpadded image rejected with the expected height");
    check(warpShapeError({{{1, 3, 11, 13}, taps, taps, taps}}, 3, 1).find("kernel_size^2 = 9") != std::string::npos,
        "tap count must match kernel_size");
    check(warpShapeError({{{2, 3, 11, 13}, taps, taps, taps}}, 5, 1).find("batch") != std::string::npos,
        "batch mismatch rejected");
    check(warpShapeError({{{1, 3, 11, 13}, taps, {1, 25, 7, 8}, taps}}, 5, 1).find("offset_v") != std::string::npos,
        "offset shape mismatch rejected");
}

std::vector<std::string> caseFiles(std::string const& dir)
{
    std::vector<std::string> files;
    if (DIR* d = opendir(dir.c_str()))
    {
        while (dirent* e = readdir(d))
        {
            std::string const name = e->d_name;
            if (name.size() > 4 && name.compare(name.size() - 4, 4, ".bin") == 0)
            {
                files.push_back(dir + "/" + name);
            }
        }
        closedir(d);
    }
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2)
    {
        std::fprintf(stderr, "usage: %s <warp case dir>\n", argv[0]);
        return 2;
    }
    try
    {
        std::vector<std::string> const files = caseFiles(argv[1]);
        check(files.size() >= 6, "found " + std::to_string(files.size()) + " warp case files");
        for (std::string const& path : files)
        {
            WarpCase const c = stmfnet_trt::test::readWarpCase(path);
            testForward(c);
            testSoftmaxOfLogWeights(c);
            testLargeLogits(c);
            testThreadedRowsAreDeterministic(c);
        }
        testRowBuildsMatchPerPixel();
        testSoftmaxExp();
        testWorkedExample();
        testValidation();
    }
    catch (std::exception const& e)
    {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return stmfnet_trt::test::exitStatus();
}
