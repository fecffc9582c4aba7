// Host test of the plugin library's self-registration (a plain dlopen, as Polygraphy's --plugins
// does, registers the creator in an already-loaded TensorRT) and of its hand-over to loadLibrary,
// against fake_nvinfer.cpp: a libnvinfer.so.10 whose registry, logger and finder come from the
// TensorRT 10.x headers. No TensorRT, no GPU. The real 10.x / 11.x / TensorRT-RTX libraries are
// tested in tests/plugins/test_plugins_native.py.
//
// Usage: test_self_registration <fake libnvinfer.so.10> <libstmfnet_trt_plugins.so> <scratch dir>
#include "host_check.h"
#include "warp_identity.h"

#include <NvInferRuntime.h>

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <string>

using stmfnet_trt::test::check;

namespace
{

template <typename Fn>
Fn symbol(void* lib, char const* name)
{
    Fn const fn = reinterpret_cast<Fn>(dlsym(lib, name));
    if (fn == nullptr)
    {
        std::fprintf(stderr, "missing symbol %s\n", name);
        std::exit(1);
    }
    return fn;
}

bool copyFile(std::string const& from, std::string const& to)
{
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
    return in.good() && out.good();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 4)
    {
        std::fprintf(stderr, "usage: %s <fake libnvinfer.so.10> <libstmfnet_trt_plugins.so> <scratch dir>\n", argv[0]);
        return 2;
    }
    using stmfnet_trt::kWarpOpName;
    using stmfnet_trt::kWarpPluginNamespace;

    // "TensorRT" first, as `import tensorrt` would load it.
    void* trt = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (trt == nullptr)
    {
        std::fprintf(stderr, "dlopen %s failed: %s\n", argv[1], dlerror());
        return 1;
    }
    auto const count = symbol<int32_t (*)(char const*, char const*)>(trt, "fakeCreatorCount");
    auto const unexpected = symbol<int32_t (*)()>(trt, "fakeUnexpectedCalls");
    auto const logCount = symbol<int32_t (*)(char const*)>(trt, "fakeLogCount");
    auto const printLog = symbol<void (*)()>(trt, "fakePrintLog");
    auto const finder = symbol<nvinfer1::ILoggerFinder* (*) ()>(trt, "fakeLoggerFinder")();
    auto* const registry = symbol<nvinfer1::IPluginRegistry* (*) ()>(trt, "getPluginRegistry")();
    auto const ours = [&] { return count(kWarpOpName, kWarpPluginNamespace); };

    // 1. A plain dlopen registers the creator (ctypes.CDLL in Polygraphy's --plugins).
    void* lib = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr)
    {
        std::fprintf(stderr, "dlopen %s failed: %s\n", argv[2], dlerror());
        return 1;
    }
    check(ours() == 1, "dlopen alone registers AdaptiveWarp in namespace stmfnet_trt");
    check(registry->getCreator(kWarpOpName, "1", kWarpPluginNamespace) != nullptr, "getCreator finds it");
    check(logCount("4 AdaptiveWarp plugin: registered stmfnet_trt::AdaptiveWarp v1 in the plugin registry of "
                   "libnvinfer.so.10 (TensorRT 10 ABI)")
            == 1,
        "says so through getLogger() (kVERBOSE)");

    // 2. What loadLibrary does next: setLoggerFinder, getCreators, register each creator itself.
    symbol<void (*)(nvinfer1::ILoggerFinder*)>(lib, "setLoggerFinder")(finder);
    int32_t n = 0;
    nvinfer1::IPluginCreatorInterface* const* creators
        = symbol<nvinfer1::IPluginCreatorInterface* const* (*) (int32_t&)>(lib, "getCreators")(n);
    check(n == 1 && creators != nullptr && creators[0] != nullptr, "getCreators returns one creator");
    check(ours() == 0, "getCreators withdrew the self-registration");
    check(logCount("withdrew the self-registration in libnvinfer.so.10") == 1, "and logged it");
    check(n == 1 && registry->registerCreator(*creators[0], kWarpPluginNamespace), "loadLibrary's registration succeeds");
    check(ours() == 1, "the creator is registered exactly once");
    check(registry->getCreator(kWarpOpName, "1", kWarpPluginNamespace) == creators[0], "and it is the same object");

    // 3. Messages go through the logger finder (a TensorRT 10 object, found by its library's version).
    auto* creator = static_cast<nvinfer1::IPluginCreatorV3One*>(creators[0]);
    int32_t bad = 4;
    nvinfer1::PluginField field("kernel_size", &bad, nvinfer1::PluginFieldType::kINT32, 1);
    nvinfer1::PluginFieldCollection fc{1, &field};
    check(creator->createPlugin("warp", &fc, nvinfer1::TensorRTPhase::kBUILD) == nullptr, "rejects kernel_size 4");
    check(logCount("1 AdaptiveWarp plugin: createPlugin(warp): kernel_size must be odd") == 1,
        "the error reaches the finder's logger as kERROR");

    // 4. A second copy of the library (another file) finds the creator registered: it keeps the
    // first and says so.
    std::string const copy = std::string(argv[3]) + "/libstmfnet_trt_plugins_copy.so";
    check(copyFile(argv[2], copy), "copied the library to " + copy);
    void* lib2 = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
    check(lib2 != nullptr, "the copy loads");
    check(ours() == 1, "the copy does not register a second creator");
    check(registry->getCreator(kWarpOpName, "1", kWarpPluginNamespace) == creators[0], "the first one stays");
    check(logCount("2 AdaptiveWarp plugin: the plugin registry of libnvinfer.so.10 refused") == 1,
        "the copy logs a warning");

    check(unexpected() == 0, "no call landed in another registry slot (" + std::to_string(unexpected()) + ")");
    if (stmfnet_trt::test::failureCount() != 0)
    {
        printLog();
    }
    return stmfnet_trt::test::exitStatus();
}
