// ONNX Runtime CPU custom-op library for AdaptiveWarp (libstmfnet_trt_ort_ops.so); its entry point
// also registers UpsampleConv3x3 (plugins/upsample_conv), the cpu export variant's second op.
//
// Lets ONNX Runtime run the plugin variant of the exported model on a CPU, e.g. to check an export
// against the PyTorch oracle before building a TensorRT engine. Only I/O adaptation lives here: the
// math is warp_cpu.h's warpRowsHost (warp_math.h's arithmetic in vectorised loops), the same code the
// ctest checks against the golden cases.
//
// Usage: SessionOptions.register_custom_ops_library(path); nodes of domain "ai.stmfnet_trt", op
// "AdaptiveWarp", FP32 or FP16 (all inputs and the output of one type), attributes kernel_size,
// dilation, softmax (ints, defaults 5, 1, 0).
//
// Built against the ORT C API version of the headers found (Debian trixie: 21 = ORT 1.21); it runs
// in any runtime at least that new. Exceptions never cross into ONNX Runtime: kernel creation,
// compute and shape inference return an OrtStatus instead.
#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include "ort_op_support.h"
#include "ort_upsample_conv.h"
#include "warp_cpu.h"
#include "warp_identity.h"

#include <string>
#include <vector>

namespace stmfnet_trt
{

// FP16 storage for the host: ONNX Runtime's half type, converted with round-to-nearest-even.
template <>
struct Storage<Ort::Float16_t>
{
    static inline float load(Ort::Float16_t const* p)
    {
        return p->ToFloat();
    }
    static inline void store(Ort::Float16_t* p, float v)
    {
        *p = Ort::Float16_t(v);
    }
};

namespace
{

constexpr size_t kNbInputs = 4; // image, weight, offset_v, offset_h

template <typename T>
constexpr ONNXTensorElementDataType kElementType = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
template <>
constexpr ONNXTensorElementDataType kElementType<Ort::Float16_t> = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;

using ort::statusOf;

Ort::Exception opError(std::string const& text)
{
    return ort::opError(kWarpOpName, text);
}

struct WarpAttrs
{
    int64_t kernelSize = kDefaultKernelSize;
    int64_t dilation = kDefaultDilation;
    int64_t softmax = kDefaultSoftmax;
};

template <typename ReadInt, typename ReadFloat>
WarpAttrs readAttrs(ReadInt readInt, ReadFloat readFloat)
{
    WarpAttrs a;
    a.kernelSize = ort::optionalInt(kWarpOpName, kAttrKernelSize, a.kernelSize, readInt, readFloat);
    a.dilation = ort::optionalInt(kWarpOpName, kAttrDilation, a.dilation, readInt, readFloat);
    a.softmax = ort::optionalInt(kWarpOpName, kAttrSoftmax, a.softmax, readInt, readFloat);
    std::string const err = warpAttributeError(a.kernelSize, a.dilation, a.softmax);
    if (!err.empty())
    {
        throw opError(err);
    }
    return a;
}

void throwIfShapeError(WarpInputDims const& dims, WarpAttrs const& a)
{
    std::string const err = warpShapeError(dims, static_cast<int>(a.kernelSize), static_cast<int>(a.dilation));
    if (!err.empty())
    {
        throw opError(err);
    }
}

template <typename T>
class AdaptiveWarpKernel
{
public:
    explicit AdaptiveWarpKernel(WarpAttrs const& attrs)
        : mAttrs(attrs)
    {
    }

    OrtStatusPtr ComputeV2(OrtKernelContext* context) noexcept
    {
        return statusOf([&] { compute(context); });
    }

private:
    // What one ParallelFor task needs: a row of the flattened (b, i) output is its unit of work.
    struct RowJob
    {
        WarpShape shape;
        WarpTensors<T> tensors;
    };

    static void runRow(void* job, size_t row)
    {
        auto const* j = static_cast<RowJob const*>(job);
        warpRowsHost(j->shape, j->tensors, static_cast<int64_t>(row), static_cast<int64_t>(row) + 1);
    }

    void compute(OrtKernelContext* context) const
    {
        Ort::KernelContext ctx(context);
        if (ctx.GetInputCount() != kNbInputs)
        {
            throw opError("expects 4 inputs (image, weight, offset_v, offset_h)");
        }
        WarpInputDims dims{};
        T const* data[kNbInputs];
        for (size_t t = 0; t < kNbInputs; ++t)
        {
            Ort::ConstValue const input = ctx.GetInput(t);
            std::vector<int64_t> const shape = input.GetTensorTypeAndShapeInfo().GetShape();
            if (shape.size() != 4)
            {
                throw opError("input " + std::to_string(t) + " must be 4-D (NCHW), got rank "
                    + std::to_string(shape.size()));
            }
            std::copy(shape.begin(), shape.end(), dims[t].begin());
            data[t] = input.GetTensorData<T>();
        }
        throwIfShapeError(dims, mAttrs);

        WarpShape const shape = makeWarpShape(
            dims, static_cast<int>(mAttrs.kernelSize), static_cast<int>(mAttrs.dilation), mAttrs.softmax != 0);
        Ort::UnownedValue output = ctx.GetOutput(0, {shape.B, shape.C, shape.H, shape.W});
        RowJob job{shape, WarpTensors<T>{data[0], data[1], data[2], data[3], output.GetTensorMutableData<T>()}};
        // ORT's intra-op pool; each row is computed by exactly one task, so results do not depend
        // on the thread count.
        ctx.ParallelFor(&runRow, static_cast<size_t>(shape.B) * static_cast<size_t>(shape.H), 0, &job);
    }

    WarpAttrs mAttrs;
};

// Graph-load-time hook: declares out = [B, C of image, H, W of weight] with the image's element type
// (symbolic dims are carried over by name) and checks what is already known. ONNX Runtime (1.2x)
// ignores the status this returns, so Compute repeats every check; returning it still keeps the
// hook honest for runtimes that do honour it.
OrtStatusPtr ORT_API_CALL inferWarpOutput(OrtCustomOp const* /*op*/, OrtShapeInferContext* context) noexcept
{
    return statusOf([&] {
        OrtApi const& api = Ort::GetApi();
        OrtTensorTypeAndShapeInfo* imageInfo = nullptr; // owned by the context
        Ort::ThrowOnError(api.ShapeInferContext_GetInputTypeShape(context, 0, &imageInfo));
        ONNXTensorElementDataType elementType = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
        Ort::ThrowOnError(api.GetTensorElementType(imageInfo, &elementType));

        Ort::ShapeInferContext ctx(&api, context);
        WarpAttrs const attrs = readAttrs([&](char const* n) { return ctx.GetAttrInt(n); },
            [&](char const* n) { return ctx.GetAttrFloat(n); });
        if (ctx.GetInputCount() != kNbInputs)
        {
            throw opError("expects 4 inputs (image, weight, offset_v, offset_h)");
        }
        WarpInputDims dims{};
        for (size_t t = 0; t < kNbInputs; ++t)
        {
            Ort::ShapeInferContext::Shape const& s = ctx.GetInputShape(t);
            if (s.empty())
            {
                return; // rank unknown at load time: checked in Compute
            }
            if (s.size() != 4)
            {
                throw opError("input " + std::to_string(t) + " must be 4-D (NCHW), got rank " + std::to_string(s.size()));
            }
            for (size_t a = 0; a < 4; ++a)
            {
                dims[t][a] = s[a].IsInt() ? s[a].AsInt() : -1;
            }
        }
        throwIfShapeError(dims, attrs);
        Ort::ShapeInferContext::Shape const& image = ctx.GetInputShape(0);
        Ort::ShapeInferContext::Shape const& weight = ctx.GetInputShape(1);
        Ort::ThrowOnError(ctx.SetOutputShape(0, {image[0], image[1], weight[2], weight[3]}, elementType));
    });
}

template <typename T>
struct AdaptiveWarpOp : Ort::CustomOpBase<AdaptiveWarpOp<T>, AdaptiveWarpKernel<T>, /*WithStatus=*/true>
{
    OrtStatusPtr CreateKernelV2(OrtApi const& /*api*/, OrtKernelInfo const* info, void** kernel) const noexcept
    {
        return statusOf([&] {
            Ort::ConstKernelInfo const ki(info);
            WarpAttrs const attrs = readAttrs([&](char const* n) { return ki.GetAttribute<int64_t>(n); },
                [&](char const* n) { return ki.GetAttribute<float>(n); });
            *kernel = new AdaptiveWarpKernel<T>(attrs);
        });
    }

    AdaptiveWarpOp()
    {
        // Both registrations (FP32, FP16) share one ONNX schema, built from the first op, so the
        // shape-inference hook must not assume its own T: inferWarpOutput reads the input type.
        this->InferOutputShapeFn = &inferWarpOutput;
    }

    char const* GetName() const
    {
        return kWarpOpName;
    }
    char const* GetExecutionProviderType() const
    {
        return "CPUExecutionProvider";
    }
    size_t GetInputTypeCount() const
    {
        return kNbInputs;
    }
    ONNXTensorElementDataType GetInputType(size_t /*index*/) const
    {
        return kElementType<T>;
    }
    size_t GetOutputTypeCount() const
    {
        return 1;
    }
    ONNXTensorElementDataType GetOutputType(size_t /*index*/) const
    {
        return kElementType<T>;
    }
};

} // namespace
} // namespace stmfnet_trt

extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL RegisterCustomOps(
    OrtSessionOptions* options, OrtApiBase const* apiBase)
{
    if (apiBase == nullptr)
    {
        return nullptr; // nothing to report an error through
    }
    OrtApi const* api = apiBase->GetApi(ORT_API_VERSION);
    if (api == nullptr)
    {
        // The runtime is older than the headers this library was built with (newer runtimes are
        // fine). Report it through the oldest API, which every runtime has.
        OrtApi const* v1 = apiBase->GetApi(1);
        std::string const text = std::string("libstmfnet_trt_ort_ops needs ONNX Runtime API version ")
            + std::to_string(ORT_API_VERSION) + " or newer; this onnxruntime is " + apiBase->GetVersionString();
        return v1 ? v1->CreateStatus(ORT_FAIL, text.c_str()) : nullptr;
    }
    Ort::InitApi(api);
    return stmfnet_trt::ort::statusOf([&] {
        using stmfnet_trt::AdaptiveWarpOp;
        static AdaptiveWarpOp<float> const opFloat;
        static AdaptiveWarpOp<Ort::Float16_t> const opHalf;
        Ort::CustomOpDomain domain{stmfnet_trt::kWarpOpDomain};
        domain.Add(&opFloat);
        domain.Add(&opHalf);
        domain.Add(&stmfnet_trt::upsampleConvOp());
        Ort::UnownedSessionOptions(options).Add(domain);
        stmfnet_trt::ort::keepDomain(std::move(domain));
    });
}
