// The NVIDIA driver floor of this library: it links a CUDA runtime statically (CUDART_VERSION), and
// that runtime needs a driver for the same CUDA major version or newer. Checked when TensorRT loads
// the library (getCreators) and by stmfnet-trt before it loads it, so a too-old driver is one clear
// line instead of "CUDA driver version is insufficient" at the first kernel launch.
#pragma once

#include <string>

namespace stmfnet_trt
{

// "" when a driver supporting CUDA `driverVersion` (e.g. 12060 = 12.6; 0 = no driver) can run a
// library built with the CUDA `runtimeVersion` runtime; else the one-line reason and what to do.
std::string driverFloorMessage(int runtimeVersion, int driverVersion);

// The driver's CUDA version (cudaDriverGetVersion): 0 when no driver is installed.
int installedDriverVersion() noexcept;

// The runtime this library was built with (CUDART_VERSION).
int builtRuntimeVersion() noexcept;

} // namespace stmfnet_trt

// C ABI for callers without TensorRT (stmfnet_trt/runtime/cuda/binding.py). `driverVersion` < 0:
// ask the installed driver. Returns 0 when the driver is new enough, 1 when it is too old (the
// reason is written to `message`, NUL-terminated, truncated to `capacity`), 2 when no driver exists.
extern "C" __attribute__((visibility("default"))) int stmfnet_trt_cuda_driver_check(
    int driverVersion, char* message, int capacity);
