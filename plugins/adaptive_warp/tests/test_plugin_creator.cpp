// Host test of the TensorRT plugin library without TensorRT or a GPU: dlopen the .so, then drive
// the creator and plugin through the IPluginV3 interfaces the way TensorRT would (create from
// fields, clone, serialize, re-create at runtime, shape/format rules), and check that bad fields
// and bad shapes come back as nullptr / non-zero status with a logged reason instead of a crash.
//
// Usage: test_plugin_creator <path to libstmfnet_trt_plugins.so>
#include "host_check.h"
#include "warp_identity.h"

#include <NvInferRuntime.h>

#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <vector>

// Named using-declarations, not `using namespace nvinfer1`: NvInferRuntime.h has an anonymous
// namespace of its own that would make our anonymous-namespace names ambiguous.
using nvinfer1::AsciiChar;
using nvinfer1::DataType;
using nvinfer1::DimsExprs;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::IDimensionExpr;
using nvinfer1::IExprBuilder;
using nvinfer1::ILogger;
using nvinfer1::ILoggerFinder;
using nvinfer1::InterfaceInfo;
using nvinfer1::IPluginCreatorInterface;
using nvinfer1::IPluginCreatorV3One;
using nvinfer1::IPluginV3;
using nvinfer1::IPluginV3OneBuild;
using nvinfer1::IPluginV3OneCore;
using nvinfer1::IPluginV3OneRuntime;
using nvinfer1::PluginCapabilityType;
using nvinfer1::PluginField;
using nvinfer1::PluginFieldCollection;
using nvinfer1::PluginFieldType;
using nvinfer1::PluginTensorDesc;
using nvinfer1::TensorFormat;
using nvinfer1::TensorRTPhase;
using stmfnet_trt::kAttrDilation;
using stmfnet_trt::kAttrKernelSize;
using stmfnet_trt::kAttrSoftmax;

using stmfnet_trt::test::check;

namespace
{

// Collects what the plugin logs, as TensorRT's logger would.
class RecordingLogger : public ILogger
{
public:
    void log(Severity severity, AsciiChar const* msg) noexcept override
    {
        if (severity <= Severity::kWARNING)
        {
            messages.emplace_back(msg);
        }
    }
    bool saw(char const* fragment) const
    {
        for (auto const& m : messages)
        {
            if (m.find(fragment) != std::string::npos)
            {
                return true;
            }
        }
        return false;
    }
    std::vector<std::string> messages;
};

class TestLoggerFinder : public ILoggerFinder
{
public:
    ILogger* findLogger() override
    {
        return &logger;
    }
    RecordingLogger logger;
};

struct IntFields
{
    int32_t values[3];
    PluginField fields[3];
    PluginFieldCollection fc;

    IntFields(int32_t k, int32_t d, int32_t s)
        : values{k, d, s}
        , fields{PluginField(kAttrKernelSize, &values[0], PluginFieldType::kINT32, 1),
              PluginField(kAttrDilation, &values[1], PluginFieldType::kINT32, 1),
              PluginField(kAttrSoftmax, &values[2], PluginFieldType::kINT32, 1)}
        , fc{3, fields}
    {
    }
};

// The three serialized values, or {-1,-1,-1} if the collection is not what we expect.
std::vector<int32_t> serializedValues(IPluginV3* plugin)
{
    auto* runtime = static_cast<IPluginV3OneRuntime*>(plugin->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    PluginFieldCollection const* fc = runtime ? runtime->getFieldsToSerialize() : nullptr;
    if (fc == nullptr || fc->nbFields != 3)
    {
        return {-1, -1, -1};
    }
    char const* const names[3] = {kAttrKernelSize, kAttrDilation, kAttrSoftmax};
    std::vector<int32_t> v;
    for (int i = 0; i < 3; ++i)
    {
        PluginField const& f = fc->fields[i];
        bool const ok = std::strcmp(f.name, names[i]) == 0 && f.type == PluginFieldType::kINT32 && f.length == 1;
        v.push_back(ok ? *static_cast<int32_t const*>(f.data) : -1);
    }
    return v;
}

DynamicPluginTensorDesc tensorDesc(DataType type, std::vector<int64_t> const& dims,
    TensorFormat format = TensorFormat::kLINEAR)
{
    DynamicPluginTensorDesc d{};
    d.desc.type = type;
    d.desc.format = format;
    d.desc.dims.nbDims = static_cast<int32_t>(dims.size());
    for (size_t i = 0; i < dims.size(); ++i)
    {
        d.desc.dims.d[i] = dims[i];
    }
    d.min = d.max = d.opt = d.desc.dims;
    return d;
}

// image, weight, offset_v, offset_h (+ output) descriptors for K = 3, d = 2, out 6x7.
std::vector<DynamicPluginTensorDesc> warpDescs(DataType type, int64_t imageH)
{
    return {tensorDesc(type, {2, 5, imageH, 11}), tensorDesc(type, {2, 9, 6, 7}), tensorDesc(type, {2, 9, 6, 7}),
        tensorDesc(type, {2, 9, 6, 7}), tensorDesc(type, {2, 5, 6, 7})};
}

void testCreatorIdentity(IPluginCreatorV3One* creator)
{
    check(std::strcmp(creator->getPluginName(), "AdaptiveWarp") == 0, "creator name");
    check(std::strcmp(creator->getPluginVersion(), "1") == 0, "creator version");
    check(std::strcmp(creator->getPluginNamespace(), "stmfnet_trt") == 0, "creator namespace");
    PluginFieldCollection const* names = creator->getFieldNames();
    check(names && names->nbFields == 3 && std::strcmp(names->fields[0].name, kAttrKernelSize) == 0
            && std::strcmp(names->fields[1].name, kAttrDilation) == 0
            && std::strcmp(names->fields[2].name, kAttrSoftmax) == 0
            && names->fields[0].type == PluginFieldType::kINT32,
        "creator declares kernel_size, dilation, softmax (kINT32)");
}

void testCreateCloneSerialize(IPluginCreatorV3One* creator)
{
    IntFields build(3, 2, 1);
    IPluginV3* plugin = creator->createPlugin("warp", &build.fc, TensorRTPhase::kBUILD);
    check(plugin != nullptr, "createPlugin(build, 3/2/1)");
    if (!plugin)
    {
        return;
    }
    auto* core = static_cast<IPluginV3OneCore*>(plugin->getCapabilityInterface(PluginCapabilityType::kCORE));
    check(core && std::strcmp(core->getPluginName(), "AdaptiveWarp") == 0
            && std::strcmp(core->getPluginNamespace(), "stmfnet_trt") == 0,
        "core capability names the plugin");
    check(serializedValues(plugin) == std::vector<int32_t>{3, 2, 1}, "getFieldsToSerialize gives 3/2/1");

    IPluginV3* copy = plugin->clone();
    delete plugin; // the clone must not point into the original
    check(copy && serializedValues(copy) == std::vector<int32_t>{3, 2, 1}, "clone keeps fields after original is gone");

    auto* runtime = static_cast<IPluginV3OneRuntime*>(copy->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    IPluginV3* restored = creator->createPlugin("warp", runtime->getFieldsToSerialize(), TensorRTPhase::kRUNTIME);
    check(restored && serializedValues(restored) == std::vector<int32_t>{3, 2, 1}, "runtime re-creation round trip");

    auto* build2 = static_cast<IPluginV3OneBuild*>(copy->getCapabilityInterface(PluginCapabilityType::kBUILD));
    check(build2 && std::strcmp(build2->getMetadataString(), "kernel_size=3,dilation=2,softmax=1") == 0,
        "metadata string");
    delete restored;
    delete copy;

    PluginFieldCollection const empty{0, nullptr};
    IPluginV3* defaults = creator->createPlugin("warp", &empty, TensorRTPhase::kBUILD);
    check(defaults && serializedValues(defaults) == std::vector<int32_t>{5, 1, 0}, "build defaults 5/1/0");
    delete defaults;

    int64_t const k64 = 7;
    PluginField const f64(kAttrKernelSize, &k64, PluginFieldType::kINT64, 1);
    PluginFieldCollection const fc64{1, &f64};
    IPluginV3* from64 = creator->createPlugin("warp", &fc64, TensorRTPhase::kBUILD);
    check(from64 && serializedValues(from64) == std::vector<int32_t>{7, 1, 0}, "kINT64 field accepted at build");
    delete from64;
}

void testRejections(IPluginCreatorV3One* creator, RecordingLogger& logger)
{
    struct Bad
    {
        int32_t k, d, s;
        char const* what;
        char const* logged;
    };
    Bad const bad[] = {{4, 1, 0, "even kernel_size", "kernel_size must be odd"},
        {-3, 1, 0, "negative kernel_size", "kernel_size"}, {0, 1, 0, "zero kernel_size", "kernel_size"},
        {5, 0, 0, "zero dilation", "dilation"}, {5, 1, 2, "softmax 2", "softmax"}};
    for (Bad const& b : bad)
    {
        IntFields f(b.k, b.d, b.s);
        logger.messages.clear();
        check(creator->createPlugin("warp", &f.fc, TensorRTPhase::kBUILD) == nullptr && logger.saw(b.logged),
            std::string("rejects ") + b.what + " (logged)");
    }

    float const k32 = 5.0f;
    PluginField const wrongType(kAttrKernelSize, &k32, PluginFieldType::kFLOAT32, 1);
    PluginFieldCollection const fcType{1, &wrongType};
    check(creator->createPlugin("warp", &fcType, TensorRTPhase::kBUILD) == nullptr, "rejects a float field");

    int32_t const two[2] = {5, 5};
    PluginField const wrongLength(kAttrKernelSize, two, PluginFieldType::kINT32, 2);
    PluginFieldCollection const fcLength{1, &wrongLength};
    check(creator->createPlugin("warp", &fcLength, TensorRTPhase::kBUILD) == nullptr, "rejects a 2-element field");

    int64_t const k64 = 5;
    PluginField const f64(kAttrKernelSize, &k64, PluginFieldType::kINT64, 1);
    IntFields runtime(5, 1, 0);
    runtime.fields[0] = f64;
    check(creator->createPlugin("warp", &runtime.fc, TensorRTPhase::kRUNTIME) == nullptr,
        "rejects kINT64 at runtime (we serialize kINT32)");

    IntFields partial(5, 1, 0);
    partial.fc.nbFields = 2;
    check(creator->createPlugin("warp", &partial.fc, TensorRTPhase::kRUNTIME) == nullptr,
        "rejects a runtime collection without softmax");

    IntFields dup(5, 1, 0);
    dup.fields[1] = dup.fields[0];
    check(creator->createPlugin("warp", &dup.fc, TensorRTPhase::kBUILD) == nullptr, "rejects a duplicated field");
}

void testBuildAndRuntimeRules(IPluginCreatorV3One* creator, RecordingLogger& logger)
{
    IntFields f(3, 2, 0);
    IPluginV3* plugin = creator->createPlugin("warp", &f.fc, TensorRTPhase::kBUILD);
    if (!plugin)
    {
        check(false, "createPlugin for shape tests");
        return;
    }
    auto* build = static_cast<IPluginV3OneBuild*>(plugin->getCapabilityInterface(PluginCapabilityType::kBUILD));
    auto* runtime = static_cast<IPluginV3OneRuntime*>(plugin->getCapabilityInterface(PluginCapabilityType::kRUNTIME));

    check(build->getNbOutputs() == 1, "one output");
    DataType const inTypes[4] = {DataType::kHALF, DataType::kHALF, DataType::kHALF, DataType::kHALF};
    DataType outType = DataType::kFLOAT;
    check(build->getOutputDataTypes(&outType, 1, inTypes, 4) == 0 && outType == DataType::kHALF,
        "output type follows the image (FP16)");

    // The expressions are TensorRT objects we cannot make here; getOutputShapes only routes them,
    // so distinct fake addresses show which input dim lands where (never dereferenced).
    static char tokens[16];
    DimsExprs in[4];
    for (int t = 0; t < 4; ++t)
    {
        in[t].nbDims = 4;
        for (int a = 0; a < 4; ++a)
        {
            in[t].d[a] = reinterpret_cast<IDimensionExpr const*>(&tokens[t * 4 + a]);
        }
    }
    DimsExprs out[1];
    auto& noBuilder = *reinterpret_cast<IExprBuilder*>(&tokens[0]);
    bool const shapeOk = build->getOutputShapes(in, 4, nullptr, 0, out, 1, noBuilder) == 0 && out[0].nbDims == 4
        && out[0].d[0] == in[0].d[0] && out[0].d[1] == in[0].d[1] && out[0].d[2] == in[1].d[2]
        && out[0].d[3] == in[1].d[3];
    check(shapeOk, "output shape = [B, C of image, H, W of weight]");
    in[2].nbDims = 3;
    check(build->getOutputShapes(in, 4, nullptr, 0, out, 1, noBuilder) != 0, "rank-3 offset rejected");

    auto fp32 = warpDescs(DataType::kFLOAT, 10);
    auto fp16 = warpDescs(DataType::kHALF, 10);
    bool allFp32 = true;
    bool allFp16 = true;
    for (int pos = 0; pos < 5; ++pos)
    {
        allFp32 = allFp32 && build->supportsFormatCombination(pos, fp32.data(), 4, 1);
        allFp16 = allFp16 && build->supportsFormatCombination(pos, fp16.data(), 4, 1);
    }
    check(allFp32 && allFp16, "FP32 and FP16 linear supported at every position");
    auto mixed = fp32;
    mixed[2].desc.type = DataType::kHALF;
    check(!build->supportsFormatCombination(2, mixed.data(), 4, 1), "mixed types rejected");
    auto int8 = warpDescs(DataType::kINT8, 10);
    check(!build->supportsFormatCombination(0, int8.data(), 4, 1), "INT8 rejected");
    auto chw4 = fp32;
    chw4[0].desc.format = TensorFormat::kCHW4;
    check(!build->supportsFormatCombination(0, chw4.data(), 4, 1), "non-linear format rejected");

    auto dynamic = warpDescs(DataType::kFLOAT, -1);
    dynamic[1].desc.dims.d[2] = -1;
    check(build->configurePlugin(dynamic.data(), 4, dynamic.data() + 4, 1) == 0, "configurePlugin with wildcards");
    auto badOpt = dynamic;
    badOpt[0].opt.d[2] = 6;
    badOpt[1].opt.d[2] = 6;
    logger.messages.clear();
    check(build->configurePlugin(badOpt.data(), 4, badOpt.data() + 4, 1) != 0 && logger.saw("kOPT"),
        "configurePlugin rejects an unpadded kOPT profile shape (logged)");
    auto unpadded = warpDescs(DataType::kFLOAT, 6);
    logger.messages.clear();
    check(build->configurePlugin(unpadded.data(), 4, unpadded.data() + 4, 1) != 0
            && logger.saw("image height 6 must be the output height 6 + (kernel_size-1)*dilation = 10"),
        "configurePlugin rejects an unpadded image (logged)");

    std::vector<PluginTensorDesc> good;
    std::vector<PluginTensorDesc> wrong;
    for (auto const& d : fp32)
    {
        good.push_back(d.desc);
    }
    for (auto const& d : unpadded)
    {
        wrong.push_back(d.desc);
    }
    check(runtime->onShapeChange(good.data(), 4, good.data() + 4, 1) == 0, "onShapeChange accepts padded shapes");
    check(runtime->onShapeChange(wrong.data(), 4, wrong.data() + 4, 1) != 0, "onShapeChange rejects bad shapes");
    // Fails validation before any CUDA call, so this is safe without a GPU.
    void const* inputs[4] = {nullptr, nullptr, nullptr, nullptr};
    void* outputs[1] = {nullptr};
    check(runtime->enqueue(wrong.data(), wrong.data() + 4, inputs, outputs, nullptr, nullptr) != 0,
        "enqueue rejects bad shapes without launching");

    IPluginV3* attached = runtime->attachToContext(nullptr);
    check(attached && serializedValues(attached) == std::vector<int32_t>{3, 2, 0}, "attachToContext clones");
    delete attached;
    delete plugin;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2)
    {
        std::fprintf(stderr, "usage: %s <libstmfnet_trt_plugins.so>\n", argv[0]);
        return 2;
    }
    void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib)
    {
        std::fprintf(stderr, "dlopen failed: %s\n", dlerror());
        return 1;
    }
    using GetCreators = IPluginCreatorInterface* const* (*) (int32_t&);
    using SetLoggerFinder = void (*)(ILoggerFinder*);
    auto getCreators = reinterpret_cast<GetCreators>(dlsym(lib, "getCreators"));
    auto setLoggerFinder = reinterpret_cast<SetLoggerFinder>(dlsym(lib, "setLoggerFinder"));
    check(getCreators && setLoggerFinder, "exports getCreators and setLoggerFinder");
    check(dlsym(lib, "stmfnet_adaptive_warp_launch") != nullptr, "exports the C-ABI launcher");
    if (!getCreators || !setLoggerFinder)
    {
        return 1;
    }
    TestLoggerFinder finder;
    setLoggerFinder(&finder);

    int32_t n = 0;
    IPluginCreatorInterface* const* creators = getCreators(n);
    check(n == 1 && creators && creators[0], "one creator");
    InterfaceInfo const info = creators[0]->getInterfaceInfo();
    check(std::strcmp(info.kind, "PLUGIN CREATOR_V3ONE") == 0, std::string("creator kind: ") + info.kind);
    auto* creator = static_cast<IPluginCreatorV3One*>(creators[0]);

    testCreatorIdentity(creator);
    testCreateCloneSerialize(creator);
    testRejections(creator, finder.logger);
    testBuildAndRuntimeRules(creator, finder.logger);

    setLoggerFinder(nullptr);
    dlclose(lib);
    return stmfnet_trt::test::exitStatus();
}
