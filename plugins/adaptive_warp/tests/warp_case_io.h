// Reader for the binary warp cases written by export_golden.py (format in its docstring).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace stmfnet_trt::test
{

struct Tensor4
{
    std::array<int64_t, 4> dims{};
    std::vector<float> data;
};

struct WarpCase
{
    std::string name;
    int kernelSize = 0;
    int dilation = 0;
    Tensor4 image;
    Tensor4 weight;
    Tensor4 offV;
    Tensor4 offH;
    Tensor4 output;
};

inline WarpCase readWarpCase(std::string const& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
    {
        throw std::runtime_error("cannot open " + path);
    }
    auto readInts = [&](int32_t* dst, size_t n) {
        f.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n * sizeof(int32_t)));
    };
    char magic[8];
    f.read(magic, sizeof(magic));
    if (!f || std::memcmp(magic, "SWCASE1", 8) != 0)
    {
        throw std::runtime_error(path + ": not a warp case file");
    }
    WarpCase c;
    c.name = path.substr(path.find_last_of('/') + 1);
    int32_t attrs[2];
    readInts(attrs, 2);
    c.kernelSize = attrs[0];
    c.dilation = attrs[1];
    for (Tensor4* t : {&c.image, &c.weight, &c.offV, &c.offH, &c.output})
    {
        int32_t dims[4];
        readInts(dims, 4);
        size_t count = 1;
        for (int a = 0; a < 4; ++a)
        {
            t->dims[a] = dims[a];
            count *= static_cast<size_t>(dims[a]);
        }
        t->data.resize(count);
        f.read(reinterpret_cast<char*>(t->data.data()), static_cast<std::streamsize>(count * sizeof(float)));
    }
    if (!f)
    {
        throw std::runtime_error(path + ": truncated");
    }
    return c;
}

} // namespace stmfnet_trt::test
