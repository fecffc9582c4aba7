// TensorRT IPluginV3 of the AdaptiveWarp op: shape/type rules, field (de)serialization and the
// dtype dispatch to the CUDA launcher. No warp math here (warp_math.h), no device queries in
// constructors (so a CPU-only test can create, clone and serialize the plugin), and no exception
// crosses the library boundary: every noexcept entry point catches, logs and returns a status.
#include "adaptive_warp_plugin.h"

#include "adaptive_warp_kernel.h"
#include "cuda_driver_check.h"
#include "trt_runtime_abi.h"
#include "warp_math.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace stmfnet_trt
{
namespace
{

using nvinfer1::DataType;
using nvinfer1::PluginField;
using nvinfer1::PluginFieldType;
using nvinfer1::TensorRTPhase;

constexpr int32_t kNbInputs = 4; // image, weight, offset_v, offset_h
constexpr int32_t kNbOutputs = 1;

using trt_abi::Layout;

// Where messages go, in this order: the logger finder TensorRT passed to setLoggerFinder() (when
// IPluginRegistry::loadLibrary loaded us), else the getLogger() of the TensorRT library we
// self-registered in (plain dlopen), else stderr (errors and warnings only). Each with the layout
// of the library that owns it (trt_runtime_abi.h). Guarded by gLogMutex (constant-initialized).
struct LogTarget
{
    void* finder = nullptr;
    Layout finderLayout = Layout::kUnknown;
    void* (*getLogger)() = nullptr;
    Layout getLoggerLayout = Layout::kUnknown;
};
std::mutex gLogMutex;
LogTarget gLogTarget;

void logMessage(nvinfer1::ILogger::Severity severity, std::string const& text) noexcept
{
    try
    {
        std::string const line = std::string(kWarpOpName) + " plugin: " + text;
        LogTarget target;
        {
            std::lock_guard<std::mutex> lock(gLogMutex);
            target = gLogTarget;
        }
        void* logger = nullptr;
        Layout layout = Layout::kUnknown;
        if (target.finder != nullptr)
        {
            logger = trt_abi::finderFindLogger(target.finder, target.finderLayout);
            layout = target.finderLayout;
        }
        if (logger == nullptr && target.getLogger != nullptr)
        {
            logger = target.getLogger();
            layout = target.getLoggerLayout;
        }
        if (logger != nullptr && trt_abi::loggerLog(logger, layout, severity, line.c_str()))
        {
            return;
        }
        // Loaded outside TensorRT (host tests, the C ABI through ctypes): stderr is all there is.
        if (severity <= nvinfer1::ILogger::Severity::kWARNING)
        {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
    }
    catch (...)
    {
    }
}

void logError(std::string const& text)
{
    logMessage(nvinfer1::ILogger::Severity::kERROR, text);
}

void validateAttributes(WarpAttributes const& a)
{
    std::string const err = warpAttributeError(a.kernelSize, a.dilation, a.softmax);
    if (!err.empty())
    {
        throw std::invalid_argument(err);
    }
}

// The four input dims as warpShapeError wants them (-1 where TensorRT does not know them yet).
template <typename Desc, typename DimsOf>
WarpInputDims inputDims(Desc const* in, int32_t nbInputs, DimsOf dimsOf)
{
    if (nbInputs != kNbInputs)
    {
        throw std::invalid_argument("expects 4 inputs (image, weight, offset_v, offset_h), got "
            + std::to_string(nbInputs));
    }
    WarpInputDims dims{};
    for (int32_t t = 0; t < kNbInputs; ++t)
    {
        nvinfer1::Dims const& d = dimsOf(in[t]);
        if (d.nbDims != 4)
        {
            throw std::invalid_argument("input " + std::to_string(t) + " must be 4-D (NCHW), got rank "
                + std::to_string(d.nbDims));
        }
        for (int32_t a = 0; a < 4; ++a)
        {
            dims[t][a] = d.d[a];
        }
    }
    return dims;
}

WarpInputDims checkedConcreteDims(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs, WarpAttributes const& a)
{
    WarpInputDims const dims = inputDims(in, nbInputs, [](nvinfer1::PluginTensorDesc const& t) -> nvinfer1::Dims const& {
        return t.dims;
    });
    std::string const err = warpShapeError(dims, a.kernelSize, a.dilation);
    if (!err.empty())
    {
        throw std::invalid_argument(err);
    }
    return dims;
}

template <typename T>
cudaError_t launchTyped(WarpShape const& shape, void const* const* inputs, void* const* outputs, cudaStream_t stream)
{
    WarpTensors<T> const t{static_cast<T const*>(inputs[0]), static_cast<T const*>(inputs[1]),
        static_cast<T const*>(inputs[2]), static_cast<T const*>(inputs[3]), static_cast<T*>(outputs[0])};
    return launchAdaptiveWarp<T>(shape, t, stream);
}

// Reads one int field. kINT32 is what the ONNX parser and getFieldsToSerialize write; kINT64 is
// accepted at build time for API users who pass int64 arrays.
int32_t readIntField(PluginField const& f, TensorRTPhase phase)
{
    if (f.data == nullptr || f.length != 1)
    {
        throw std::invalid_argument(std::string("field '") + f.name + "' must hold exactly one integer");
    }
    if (f.type == PluginFieldType::kINT32)
    {
        return *static_cast<int32_t const*>(f.data);
    }
    if (f.type == PluginFieldType::kINT64 && phase == TensorRTPhase::kBUILD)
    {
        int64_t const v = *static_cast<int64_t const*>(f.data);
        if (v < INT32_MIN || v > INT32_MAX)
        {
            throw std::invalid_argument(std::string("field '") + f.name + "' out of int32 range");
        }
        return static_cast<int32_t>(v);
    }
    throw std::invalid_argument(std::string("field '") + f.name + "' must be "
        + (phase == TensorRTPhase::kBUILD ? "kINT32 or kINT64" : "kINT32 (as serialized)"));
}

WarpAttributes parseFields(nvinfer1::PluginFieldCollection const* fc, TensorRTPhase phase)
{
    WarpAttributes a;
    int seen = 0; // bit per known field, to require all of them at runtime and catch duplicates
    for (int32_t n = 0; fc != nullptr && n < fc->nbFields; ++n)
    {
        PluginField const& f = fc->fields[n];
        char const* const name = f.name ? f.name : "";
        int32_t* target = nullptr;
        int bit = 0;
        if (std::strcmp(name, kAttrKernelSize) == 0)
        {
            target = &a.kernelSize;
            bit = 1;
        }
        else if (std::strcmp(name, kAttrDilation) == 0)
        {
            target = &a.dilation;
            bit = 2;
        }
        else if (std::strcmp(name, kAttrSoftmax) == 0)
        {
            target = &a.softmax;
            bit = 4;
        }
        else
        {
            // Not ours (a parser may forward extra attributes): say so, but do not fail the build.
            logMessage(nvinfer1::ILogger::Severity::kWARNING, std::string("ignoring unknown field '") + name + "'");
            continue;
        }
        if (seen & bit)
        {
            throw std::invalid_argument(std::string("field '") + name + "' given twice");
        }
        seen |= bit;
        *target = readIntField(f, phase);
    }
    if (phase == TensorRTPhase::kRUNTIME && seen != 7)
    {
        throw std::invalid_argument("serialized plugin lacks one of kernel_size, dilation, softmax");
    }
    validateAttributes(a);
    return a;
}

} // namespace

// ================================ AdaptiveWarpPlugin ================================

AdaptiveWarpPlugin::AdaptiveWarpPlugin(WarpAttributes const& attrs)
    : mAttrs(attrs)
    , mDescription(std::string(kAttrKernelSize) + "=" + std::to_string(attrs.kernelSize) + "," + kAttrDilation + "="
          + std::to_string(attrs.dilation) + "," + kAttrSoftmax + "=" + std::to_string(attrs.softmax))
    , mSerialFields{PluginField(kAttrKernelSize, &mAttrs.kernelSize, PluginFieldType::kINT32, 1),
          PluginField(kAttrDilation, &mAttrs.dilation, PluginFieldType::kINT32, 1),
          PluginField(kAttrSoftmax, &mAttrs.softmax, PluginFieldType::kINT32, 1)}
{
    validateAttributes(mAttrs);
    mSerialCollection.nbFields = static_cast<int32_t>(mSerialFields.size());
    mSerialCollection.fields = mSerialFields.data();
}

nvinfer1::IPluginCapability* AdaptiveWarpPlugin::getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept
{
    switch (type)
    {
    case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
    case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
    case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
    }
    return nullptr;
}

nvinfer1::IPluginV3* AdaptiveWarpPlugin::clone() noexcept
{
    try
    {
        return new AdaptiveWarpPlugin(mAttrs);
    }
    catch (std::exception const& e)
    {
        logError(std::string("clone: ") + e.what());
    }
    return nullptr;
}

char const* AdaptiveWarpPlugin::getPluginName() const noexcept
{
    return kWarpOpName;
}

char const* AdaptiveWarpPlugin::getPluginVersion() const noexcept
{
    return kWarpPluginVersion;
}

char const* AdaptiveWarpPlugin::getPluginNamespace() const noexcept
{
    return kWarpPluginNamespace;
}

// Build time: the network dims may hold -1 wildcards (dynamic shapes), so check what is known, then
// the profile's kOPT shapes, which are concrete and which TensorRT times the plugin with (min and
// max of different inputs need not match each other, so they are not checked).
int32_t AdaptiveWarpPlugin::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
    nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    try
    {
        if (nbOutputs != kNbOutputs)
        {
            throw std::invalid_argument("expects 1 output");
        }
        using Desc = nvinfer1::DynamicPluginTensorDesc;
        WarpInputDims const network
            = inputDims(in, nbInputs, [](Desc const& t) -> nvinfer1::Dims const& { return t.desc.dims; });
        WarpInputDims const opt = inputDims(in, nbInputs, [](Desc const& t) -> nvinfer1::Dims const& { return t.opt; });
        for (auto const& [dims, what] : {std::make_pair(network, ""), std::make_pair(opt, " (profile kOPT shapes)")})
        {
            std::string const err = warpShapeError(dims, mAttrs.kernelSize, mAttrs.dilation);
            if (!err.empty())
            {
                throw std::invalid_argument(err + what);
            }
        }
        return 0;
    }
    catch (std::exception const& e)
    {
        logError(std::string("configurePlugin: ") + e.what());
    }
    return -1;
}

int32_t AdaptiveWarpPlugin::getOutputDataTypes(
    DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (outputTypes == nullptr || inputTypes == nullptr || nbOutputs != kNbOutputs || nbInputs != kNbInputs)
    {
        logError("getOutputDataTypes: expects 4 inputs and 1 output");
        return -1;
    }
    outputTypes[0] = inputTypes[0];
    return 0;
}

// out = [B, C of the image, H, W of the weight]: symbolic, so every dim may be dynamic.
int32_t AdaptiveWarpPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const* /*shapeInputs*/, int32_t /*nbShapeInputs*/, nvinfer1::DimsExprs* outputs,
    int32_t nbOutputs, nvinfer1::IExprBuilder& /*exprBuilder*/) noexcept
{
    try
    {
        if (inputs == nullptr || outputs == nullptr || nbInputs != kNbInputs || nbOutputs != kNbOutputs)
        {
            throw std::invalid_argument("expects 4 inputs and 1 output");
        }
        for (int32_t t = 0; t < kNbInputs; ++t)
        {
            if (inputs[t].nbDims != 4)
            {
                throw std::invalid_argument("input " + std::to_string(t) + " must be 4-D (NCHW), got rank "
                    + std::to_string(inputs[t].nbDims));
            }
        }
        outputs[0].nbDims = 4;
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = inputs[0].d[1];
        outputs[0].d[2] = inputs[1].d[2];
        outputs[0].d[3] = inputs[1].d[3];
        return 0;
    }
    catch (std::exception const& e)
    {
        logError(std::string("getOutputShapes: ") + e.what());
    }
    return -1;
}

// FP32 or FP16, linear (NCHW), every tensor of the same type as the image.
bool AdaptiveWarpPlugin::supportsFormatCombination(
    int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (inOut == nullptr || pos < 0 || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    nvinfer1::PluginTensorDesc const& d = inOut[pos].desc;
    if (d.format != nvinfer1::TensorFormat::kLINEAR)
    {
        return false;
    }
    if (pos == 0)
    {
        return d.type == DataType::kFLOAT || d.type == DataType::kHALF;
    }
    return d.type == inOut[0].desc.type;
}

int32_t AdaptiveWarpPlugin::getNbOutputs() const noexcept
{
    return kNbOutputs;
}

char const* AdaptiveWarpPlugin::getTimingCacheID() noexcept
{
    return mDescription.c_str();
}

char const* AdaptiveWarpPlugin::getMetadataString() noexcept
{
    return mDescription.c_str();
}

int32_t AdaptiveWarpPlugin::onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs,
    nvinfer1::PluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    try
    {
        if (nbOutputs != kNbOutputs)
        {
            throw std::invalid_argument("expects 1 output");
        }
        checkedConcreteDims(in, nbInputs, mAttrs);
        return 0;
    }
    catch (std::exception const& e)
    {
        logError(std::string("onShapeChange: ") + e.what());
    }
    return -1;
}

int32_t AdaptiveWarpPlugin::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
    nvinfer1::PluginTensorDesc const* /*outputDesc*/, void const* const* inputs, void* const* outputs,
    void* /*workspace*/, cudaStream_t stream) noexcept
{
    try
    {
        if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
        {
            throw std::invalid_argument("null tensor descriptors or pointers");
        }
        WarpInputDims const dims = checkedConcreteDims(inputDesc, kNbInputs, mAttrs);
        WarpShape const shape = makeWarpShape(dims, mAttrs.kernelSize, mAttrs.dilation, mAttrs.softmax != 0);
        cudaError_t status = cudaErrorInvalidValue;
        switch (inputDesc[0].type)
        {
        case DataType::kFLOAT: status = launchTyped<float>(shape, inputs, outputs, stream); break;
        case DataType::kHALF: status = launchTyped<__half>(shape, inputs, outputs, stream); break;
        default: throw std::invalid_argument("unsupported data type (FP32 or FP16 only)");
        }
        if (status != cudaSuccess)
        {
            throw std::runtime_error(std::string("kernel launch failed: ") + cudaGetErrorString(status));
        }
        return 0;
    }
    catch (std::exception const& e)
    {
        logError(std::string("enqueue: ") + e.what());
    }
    return -1;
}

nvinfer1::IPluginV3* AdaptiveWarpPlugin::attachToContext(nvinfer1::IPluginResourceContext* /*context*/) noexcept
{
    return clone(); // no per-context resources
}

nvinfer1::PluginFieldCollection const* AdaptiveWarpPlugin::getFieldsToSerialize() noexcept
{
    return &mSerialCollection;
}

// ============================= AdaptiveWarpPluginCreator =============================

AdaptiveWarpPluginCreator::AdaptiveWarpPluginCreator()
    : mFields{PluginField(kAttrKernelSize, nullptr, PluginFieldType::kINT32, 1),
        PluginField(kAttrDilation, nullptr, PluginFieldType::kINT32, 1),
        PluginField(kAttrSoftmax, nullptr, PluginFieldType::kINT32, 1)}
{
    mCollection.nbFields = static_cast<int32_t>(mFields.size());
    mCollection.fields = mFields.data();
}

nvinfer1::IPluginV3* AdaptiveWarpPluginCreator::createPlugin(
    char const* name, nvinfer1::PluginFieldCollection const* fc, TensorRTPhase phase) noexcept
{
    try
    {
        return new AdaptiveWarpPlugin(parseFields(fc, phase));
    }
    catch (std::exception const& e)
    {
        logError(std::string("createPlugin(") + (name ? name : "") + "): " + e.what());
    }
    return nullptr;
}

nvinfer1::PluginFieldCollection const* AdaptiveWarpPluginCreator::getFieldNames() noexcept
{
    return &mCollection;
}

char const* AdaptiveWarpPluginCreator::getPluginName() const noexcept
{
    return kWarpOpName;
}

char const* AdaptiveWarpPluginCreator::getPluginVersion() const noexcept
{
    return kWarpPluginVersion;
}

char const* AdaptiveWarpPluginCreator::getPluginNamespace() const noexcept
{
    return kWarpPluginNamespace;
}

// ================================= registration =================================
//
// Two ways in, one creator object (never destroyed: a registry may outlive our static destructors):
// * IPluginRegistry::loadLibrary / trtexec --dynamicPlugins dlopen us, call setLoggerFinder() and
//   getCreators(), and register what it returns themselves (refusing a creator that is already
//   registered);
// * a plain dlopen (Polygraphy --plugins does ctypes.CDLL(path)) calls nothing: the initializer
//   below registers the creator itself in the plugin registry of every TensorRT library already
//   loaded in the process. getCreators() takes such registrations back first, so a later
//   loadLibrary of this library still succeeds and the creator ends up registered once.

namespace
{

AdaptiveWarpPluginCreator& theCreator()
{
    static auto* const creator = new AdaptiveWarpPluginCreator(); // intentionally leaked
    return *creator;
}

// TensorRT libraries whose registry the initializer looks for, by the names they are loaded under.
// RTLD_NOLOAD only finds libraries already in the process (whatever flags loaded them): it never
// loads one, and the library keeps no link-time dependency on TensorRT.
constexpr char const* kTrtLibraries[] = {
    "libnvinfer.so.10",
    "libnvinfer.so.11",
    "libnvinfer.so",
    "libnvinfer_lean.so.10",
    "libnvinfer_lean.so.11",
    "libnvinfer_lean.so",
    "libtensorrt_rtx.so.1",
    "libtensorrt_rtx.so",
};

struct SelfRegistration
{
    void* registry;
    Layout layout;
    char const* library;
};

std::mutex gRegistrationMutex;
std::vector<SelfRegistration>* gSelfRegistrations = nullptr; // created by the initializer, never destroyed

std::string layoutName(Layout layout)
{
    return layout == Layout::kTrt10 ? "TensorRT 10 ABI" : layout == Layout::kTrt11 ? "TensorRT 11 ABI" : "unknown ABI";
}

// Keeps this library mapped for the life of the process once a registry holds a pointer to our
// creator that no loadLibrary handle accounts for (a dlclose would leave it dangling).
void pinThisLibrary()
{
    Dl_info info{};
    if (dladdr(&gRegistrationMutex, &info) != 0 && info.dli_fname != nullptr)
    {
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE); // handle intentionally kept
    }
}

void selfRegister(char const* library, std::vector<void*>& visited)
{
    void* const handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr)
    {
        return; // not loaded in this process
    }
    using GetRegistryFn = void* (*)();
    using GetLoggerFn = void* (*)();
    auto const getRegistry = reinterpret_cast<GetRegistryFn>(dlsym(handle, "getPluginRegistry"));
    auto const getLogger = reinterpret_cast<GetLoggerFn>(dlsym(handle, "getLogger"));
    Layout const layout = trt_abi::layoutOfLibrary(handle, library);
    void* const registry = (getRegistry != nullptr && layout != Layout::kUnknown) ? getRegistry() : nullptr;
    if (registry == nullptr)
    {
        dlclose(handle);
        logMessage(nvinfer1::ILogger::Severity::kVERBOSE,
            std::string("not self-registering in ") + library + " (" + layoutName(layout)
                + ", no getPluginRegistry or an unsupported version): load this library with "
                  "IPluginRegistry::loadLibrary instead");
        return;
    }
    if (getLogger != nullptr)
    {
        std::lock_guard<std::mutex> lock(gLogMutex);
        if (gLogTarget.getLogger == nullptr)
        {
            gLogTarget.getLogger = getLogger;
            gLogTarget.getLoggerLayout = layout;
        }
    }
    for (void* const seen : visited)
    {
        if (seen == registry)
        {
            dlclose(handle); // the same library under another name
            return;
        }
    }
    visited.push_back(registry);
    // registerCreator, not a getCreator lookup first: TensorRT-RTX logs an error for every lookup
    // that misses. It refuses (false, silently) a name/version/namespace that is already registered.
    if (!trt_abi::registryRegisterCreator(registry, layout, theCreator(), kWarpPluginNamespace))
    {
        dlclose(handle);
        logMessage(nvinfer1::ILogger::Severity::kWARNING,
            std::string("the plugin registry of ") + library + " refused " + kWarpPluginNamespace + "::"
                + kWarpOpName + " v" + kWarpPluginVersion
                + ": probably registered already (by another copy of this library?), which stays in use");
        return;
    }
    {
        std::lock_guard<std::mutex> lock(gRegistrationMutex);
        gSelfRegistrations->push_back({registry, layout, library}); // handle kept: the registry stays valid
    }
    pinThisLibrary();
    logMessage(nvinfer1::ILogger::Severity::kVERBOSE,
        std::string("registered ") + kWarpPluginNamespace + "::" + kWarpOpName + " v" + kWarpPluginVersion
            + " in the plugin registry of " + library + " (" + layoutName(layout) + ")");
}

// STMFNET_TRT_PLUGIN_SELF_REGISTER=0 turns the load-time self-registration off: the initializer
// below then calls into no TensorRT library while the loader's lock is held (a TensorRT whose
// loadLibrary holds a registry lock across dlopen would deadlock there), and only
// IPluginRegistry::loadLibrary / trtexec --dynamicPlugins register the creator.
constexpr char kSelfRegisterEnv[] = "STMFNET_TRT_PLUGIN_SELF_REGISTER";

bool selfRegistrationWanted() noexcept
{
    char const* const value = std::getenv(kSelfRegisterEnv);
    return value == nullptr || std::strcmp(value, "0") != 0;
}

// Runs when the library is loaded, whoever loads it. Never throws: a failure only means the
// creator is not self-registered, and loadLibrary still works.
struct SelfRegisterOnLoad
{
    SelfRegisterOnLoad() noexcept
    {
        try
        {
            gSelfRegistrations = new std::vector<SelfRegistration>();
            if (!selfRegistrationWanted())
            {
                return;
            }
            std::vector<void*> visited; // registries already handled (one library, several names)
            for (char const* library : kTrtLibraries)
            {
                selfRegister(library, visited);
            }
        }
        catch (std::exception const& e)
        {
            logError(std::string("self-registration: ") + e.what());
        }
        catch (...)
        {
            logError("self-registration failed");
        }
    }
};

// Declared after every global it uses (dynamic initialization follows declaration order here;
// gLogMutex and gRegistrationMutex are constant-initialized).
SelfRegisterOnLoad const gSelfRegisterOnLoad;

// Takes back what the initializer registered, so that the caller (loadLibrary) can register the
// creator itself without hitting "already registered".
void withdrawSelfRegistrations() noexcept
{
    try
    {
        std::lock_guard<std::mutex> lock(gRegistrationMutex);
        if (gSelfRegistrations == nullptr)
        {
            return;
        }
        for (SelfRegistration const& r : *gSelfRegistrations)
        {
            bool const ok = trt_abi::registryDeregisterCreator(r.registry, r.layout, theCreator());
            logMessage(ok ? nvinfer1::ILogger::Severity::kVERBOSE : nvinfer1::ILogger::Severity::kWARNING,
                std::string(ok ? "withdrew" : "could not withdraw") + " the self-registration in " + r.library
                    + " before getCreators() hands the creator over");
        }
        gSelfRegistrations->clear();
    }
    catch (...)
    {
    }
}

// TensorRT passes a finder of its own ABI (trt_runtime_abi.h), whatever headers we were built with.
void setLoggerFinderImpl(void* finder) noexcept
{
    Layout const layout = trt_abi::layoutOfObject(finder);
    try
    {
        std::lock_guard<std::mutex> lock(gLogMutex);
        gLogTarget.finder = finder;
        gLogTarget.finderLayout = layout;
    }
    catch (...)
    {
    }
}

} // namespace
} // namespace stmfnet_trt

namespace stmfnet_trt
{
namespace
{

// Once per process, when TensorRT loads the library: a driver older than the static CUDA runtime
// we link fails every kernel launch later with a far less helpful error.
void checkDriverOnce() noexcept
{
    static std::once_flag once;
    try
    {
        std::call_once(once, [] {
            std::string const problem = driverFloorMessage(builtRuntimeVersion(), installedDriverVersion());
            if (!problem.empty())
            {
                logError(problem);
            }
        });
    }
    catch (...)
    {
    }
}

} // namespace
} // namespace stmfnet_trt

extern "C" nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    stmfnet_trt::checkDriverOnce();
    stmfnet_trt::withdrawSelfRegistrations();
    static nvinfer1::IPluginCreatorInterface* const creators[] = {&stmfnet_trt::theCreator()};
    nbCreators = 1;
    return creators;
}

extern "C" void setLoggerFinder(nvinfer1::ILoggerFinder* finder)
{
    stmfnet_trt::setLoggerFinderImpl(finder);
}
