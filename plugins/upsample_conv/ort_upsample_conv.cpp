// ONNX Runtime CPU kernel of UpsampleConv3x3: I/O, checks and threading around upsample_conv_cpu.h.
//
// Node: domain "ai.stmfnet_trt", op "UpsampleConv3x3", inputs taps (N, 9*C, h, w) and bias (C),
// FP32; attribute scale (int, default 2); output (N, C, scale*h, scale*w) = conv3x3(U(r)) + bias where
// taps = the conv's weights applied to r as a 1x1 conv (the exporter writes that Conv before this
// node). CPU only: TensorRT has no such plugin, its convolutions are fast where this one pays.
#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include "ort_op_support.h"
#include "ort_upsample_conv.h"
#include "upsample_conv_cpu.h"
#include "upsample_conv_identity.h"

#include <algorithm>
#include <string>
#include <vector>

namespace stmfnet_trt
{
namespace
{

constexpr size_t kNbInputs = 2; // taps, bias
constexpr int64_t kDefaultScale = 2;
// Output rows per task: enough work per task (and few band borders, where a low-res row is
// computed twice) while 2-16 threads still get tasks to share.
constexpr int64_t kBandRows = 64;

Ort::Exception opError(std::string const& text)
{
    return ort::opError(kUpsampleConvOpName, text);
}

void throwIfError(std::string const& err)
{
    if (!err.empty())
    {
        throw opError(err);
    }
}

template <typename ReadInt, typename ReadFloat>
int64_t readScale(ReadInt readInt, ReadFloat readFloat)
{
    int64_t const scale = ort::optionalInt(kUpsampleConvOpName, kAttrScale, kDefaultScale, readInt, readFloat);
    int64_t const unknown[4] = {-1, -1, -1, -1};
    throwIfError(upsampleConvShapeError(unknown, -1, scale));
    return scale;
}

class UpsampleConvKernel
{
public:
    explicit UpsampleConvKernel(int64_t scale)
        : mScale(static_cast<int>(scale))
    {
    }

    OrtStatusPtr ComputeV2(OrtKernelContext* context) noexcept
    {
        return ort::statusOf([&] { compute(context); });
    }

private:
    struct Job
    {
        UpsampleConvShape shape;
        UpsampleConvTensors tensors;
        AxisTaps rows, cols;
        int64_t bands;
    };

    // One task: a band of output rows of one (n, o) plane.
    static void runBand(void* opaque, size_t task)
    {
        auto const* job = static_cast<Job const*>(opaque);
        UpsampleConvShape const& s = job->shape;
        int64_t const plane = static_cast<int64_t>(task) / job->bands;
        int64_t const y0 = static_cast<int64_t>(task) % job->bands * kBandRows;
        int64_t const y1 = std::min(y0 + kBandRows, s.H());
        thread_local std::vector<float> scratch;
        scratch.resize(static_cast<size_t>(upsampleConvScratchSize(s)));
        upsampleConvRowsHost(s, job->tensors, job->rows, job->cols, plane / s.C, plane % s.C, y0, y1, scratch.data());
    }

    void compute(OrtKernelContext* context) const
    {
        Ort::KernelContext ctx(context);
        if (ctx.GetInputCount() != kNbInputs)
        {
            throw opError("expects 2 inputs (taps, bias)");
        }
        Ort::ConstValue const taps = ctx.GetInput(0);
        Ort::ConstValue const bias = ctx.GetInput(1);
        std::vector<int64_t> const dims = taps.GetTensorTypeAndShapeInfo().GetShape();
        std::vector<int64_t> const biasDims = bias.GetTensorTypeAndShapeInfo().GetShape();
        if (dims.size() != 4)
        {
            throw opError("taps must be 4-D (N, 9*C, h, w), got rank " + std::to_string(dims.size()));
        }
        if (biasDims.size() != 1)
        {
            throw opError("bias must be 1-D (C), got rank " + std::to_string(biasDims.size()));
        }
        throwIfError(upsampleConvShapeError(dims.data(), biasDims[0], mScale));
        UpsampleConvShape const shape{dims[0], dims[1] / kUpsampleConvTaps, dims[2], dims[3], mScale};
        Ort::UnownedValue output = ctx.GetOutput(0, {shape.N, shape.C, shape.H(), shape.W()});
        if (shape.N * shape.C == 0)
        {
            return;
        }
        Job job{shape,
            UpsampleConvTensors{taps.GetTensorData<float>(), bias.GetTensorData<float>(),
                output.GetTensorMutableData<float>()},
            AxisTaps(shape.h, shape.H()), AxisTaps(shape.w, shape.W()), (shape.H() + kBandRows - 1) / kBandRows};
        // ORT's intra-op pool; every output value is computed by exactly one task, the same way
        // whatever the thread count.
        ctx.ParallelFor(&runBand, static_cast<size_t>(shape.N * shape.C * job.bands), 0, &job);
    }

    int mScale;
};

// Load-time shape: (N, 9*C, h, w) -> (N, C, scale*h, scale*w); a symbolic h becomes "h*scale", an
// unknown one stays unknown.
OrtStatusPtr ORT_API_CALL inferUpsampleConvOutput(OrtCustomOp const* /*op*/, OrtShapeInferContext* context) noexcept
{
    return ort::statusOf([&] {
        Ort::ShapeInferContext ctx(&Ort::GetApi(), context);
        int64_t const scale = readScale([&](char const* n) { return ctx.GetAttrInt(n); },
            [&](char const* n) { return ctx.GetAttrFloat(n); });
        Ort::ShapeInferContext::Shape const& taps = ctx.GetInputShape(0);
        if (taps.empty())
        {
            return; // rank unknown at load time: checked in Compute
        }
        if (taps.size() != 4)
        {
            throw opError("taps must be 4-D (N, 9*C, h, w), got rank " + std::to_string(taps.size()));
        }
        // An unknown dim arrives as the int -1 and must stay -1 (not -1 * scale).
        auto scaled = [](int64_t dim, int64_t factor) { return dim < 0 ? dim : dim * factor; };
        Ort::ShapeInferContext::Shape out{taps[0], taps[1]};
        if (taps[1].IsInt() && taps[1].AsInt() >= 0)
        {
            out[1] = Ort::ShapeInferContext::SymbolicInteger(taps[1].AsInt() / kUpsampleConvTaps);
        }
        std::string names[2];
        for (size_t axis = 2; axis < 4; ++axis)
        {
            if (taps[axis].IsInt())
            {
                out.emplace_back(scaled(taps[axis].AsInt(), scale));
            }
            else
            {
                names[axis - 2] = std::string(taps[axis].AsSym()) + "*" + std::to_string(scale);
                out.emplace_back(names[axis - 2].c_str());
            }
        }
        Ort::ThrowOnError(ctx.SetOutputShape(0, out, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT));
    });
}

struct UpsampleConvOp : Ort::CustomOpBase<UpsampleConvOp, UpsampleConvKernel, /*WithStatus=*/true>
{
    OrtStatusPtr CreateKernelV2(OrtApi const& /*api*/, OrtKernelInfo const* info, void** kernel) const noexcept
    {
        return ort::statusOf([&] {
            Ort::ConstKernelInfo const ki(info);
            int64_t const scale = readScale([&](char const* n) { return ki.GetAttribute<int64_t>(n); },
                [&](char const* n) { return ki.GetAttribute<float>(n); });
            *kernel = new UpsampleConvKernel(scale);
        });
    }

    UpsampleConvOp()
    {
        this->InferOutputShapeFn = &inferUpsampleConvOutput;
    }

    char const* GetName() const
    {
        return kUpsampleConvOpName;
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
        return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    }
    size_t GetOutputTypeCount() const
    {
        return 1;
    }
    ONNXTensorElementDataType GetOutputType(size_t /*index*/) const
    {
        return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    }
};

} // namespace

OrtCustomOp const& upsampleConvOp()
{
    static UpsampleConvOp const op;
    return op;
}

} // namespace stmfnet_trt
