#include "cuda_driver_check.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>

namespace stmfnet_trt
{
namespace
{

std::string cudaVersionText(int version)
{
    return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

// The first driver branch of each CUDA major version (NVIDIA's CUDA toolkit release notes).
char const* driverBranchFor(int major)
{
    switch (major)
    {
    case 11: return "R450";
    case 12: return "R525";
    case 13: return "R580";
    default: return "a current";
    }
}

} // namespace

std::string driverFloorMessage(int runtimeVersion, int driverVersion)
{
    int const major = runtimeVersion / 1000;
    if (driverVersion <= 0 || driverVersion >= major * 1000)
    {
        return "";
    }
    return "the AdaptiveWarp plugin library was built with the CUDA " + cudaVersionText(runtimeVersion)
        + " runtime, which needs an NVIDIA driver for CUDA " + std::to_string(major) + ".x (" + driverBranchFor(major)
        + " or newer); this driver supports CUDA " + cudaVersionText(driverVersion)
        + ": update the driver, or rebuild the plugin with a CUDA " + std::to_string(driverVersion / 1000)
        + " toolkit (cmake -DCMAKE_CUDA_COMPILER=<its nvcc>)";
}

int installedDriverVersion() noexcept
{
    int version = 0;
    return cudaDriverGetVersion(&version) == cudaSuccess ? version : 0;
}

int builtRuntimeVersion() noexcept
{
    return CUDART_VERSION;
}

} // namespace stmfnet_trt

extern "C" int stmfnet_trt_cuda_driver_check(int driverVersion, char* message, int capacity)
{
    try
    {
        int const driver = driverVersion < 0 ? stmfnet_trt::installedDriverVersion() : driverVersion;
        std::string const text = stmfnet_trt::driverFloorMessage(stmfnet_trt::builtRuntimeVersion(), driver);
        if (message != nullptr && capacity > 0)
        {
            size_t const n = std::min(text.size(), static_cast<size_t>(capacity - 1));
            std::memcpy(message, text.data(), n);
            message[n] = '\0';
        }
        if (driver == 0)
        {
            return 2;
        }
        return text.empty() ? 0 : 1;
    }
    catch (...)
    {
        return 2;
    }
}
