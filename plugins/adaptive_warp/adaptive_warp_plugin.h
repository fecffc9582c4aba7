// TensorRT IPluginV3 of the AdaptiveWarp op and its creator. Only I/O adaptation lives here: the
// math is warp_math.h, the device code adaptive_warp_kernel.cu.
//
// Built against the TensorRT 10.x API (IPluginV3 exists from 10.0); nothing here differs between
// 10.x and 11.x. Loaded with IPluginRegistry::loadLibrary / trtexec --dynamicPlugins, which look up
// the exported getCreators() and setLoggerFinder() (declared at the end of this file), or by a plain
// dlopen (Polygraphy --plugins), after which the library registers its creator itself in the
// TensorRT libraries already loaded (adaptive_warp_plugin.cpp, "registration"; the registry and
// logger ABIs it calls into are in trt_runtime_abi.h).
#pragma once

#include "warp_identity.h"

#include <NvInferRuntime.h>

#include <cstdint>
#include <string>
#include <vector>

namespace stmfnet_trt
{

// The plugin's creation state: exactly the ONNX attributes, validated by warpAttributeError.
struct WarpAttributes
{
    int32_t kernelSize = kDefaultKernelSize;
    int32_t dilation = kDefaultDilation;
    int32_t softmax = kDefaultSoftmax;
};

class AdaptiveWarpPlugin final : public nvinfer1::IPluginV3,
                                 public nvinfer1::IPluginV3OneCore,
                                 public nvinfer1::IPluginV3OneBuild,
                                 public nvinfer1::IPluginV3OneRuntime
{
public:
    explicit AdaptiveWarpPlugin(WarpAttributes const& attrs);
    // The serialization fields point into this object, so a copy would alias the original: use clone().
    AdaptiveWarpPlugin(AdaptiveWarpPlugin const&) = delete;
    AdaptiveWarpPlugin& operator=(AdaptiveWarpPlugin const&) = delete;
    ~AdaptiveWarpPlugin() override = default;

    // ---- IPluginV3 ----
    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override;
    nvinfer1::IPluginV3* clone() noexcept override;

    // ---- Core (IPluginV3OneCore) ----
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

    // ---- Build (IPluginV3OneBuild) ----
    int32_t configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept override;
    int32_t getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs,
        nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept override;
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const* shapeInputs,
        int32_t nbShapeInputs, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
        nvinfer1::IExprBuilder& exprBuilder) noexcept override;
    bool supportsFormatCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
        int32_t nbOutputs) noexcept override;
    int32_t getNbOutputs() const noexcept override;
    char const* getTimingCacheID() noexcept override;
    char const* getMetadataString() noexcept override;

    // ---- Runtime (IPluginV3OneRuntime) ----
    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs, nvinfer1::PluginTensorDesc const* out,
        int32_t nbOutputs) noexcept override;
    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
        void const* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) noexcept override;
    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* context) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override;

private:
    WarpAttributes mAttrs;
    std::string mDescription; // "kernel_size=5,dilation=1,softmax=0": timing-cache ID and engine metadata
    std::vector<nvinfer1::PluginField> mSerialFields;
    nvinfer1::PluginFieldCollection mSerialCollection{};
};

class AdaptiveWarpPluginCreator final : public nvinfer1::IPluginCreatorV3One
{
public:
    AdaptiveWarpPluginCreator();

    // Build phase: the ONNX parser passes the node's int attributes as kINT32 fields (API users may
    // pass kINT64); missing ones take the op's defaults. Runtime phase: the fields written by
    // getFieldsToSerialize (all three, kINT32). Invalid fields are logged and give nullptr.
    nvinfer1::IPluginV3* createPlugin(
        char const* name, nvinfer1::PluginFieldCollection const* fc, nvinfer1::TensorRTPhase phase) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override;
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

private:
    std::vector<nvinfer1::PluginField> mFields;
    nvinfer1::PluginFieldCollection mCollection{};
};

} // namespace stmfnet_trt

// Entry points looked up by IPluginRegistry::loadLibrary (the only symbols besides the C-ABI kernel
// launcher that the library exports; see exports_trt.map). getCreators() first withdraws the
// creator from the registries the load-time self-registration put it in, so that the caller can
// register it without a duplicate. The finder may have the 10.x or the 11.x ABI (trt_runtime_abi.h).
#define STMFNET_EXPORT __attribute__((visibility("default")))
extern "C" STMFNET_EXPORT nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators);
extern "C" STMFNET_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder);
