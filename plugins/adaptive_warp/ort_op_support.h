// What every op of the ONNX Runtime custom-op library (libstmfnet_trt_ort_ops.so) shares: errors
// that name the op, no exception crossing into ONNX Runtime, optional int attributes, and the
// domain's lifetime. Include after <onnxruntime_cxx_api.h> (with ORT_API_MANUAL_INIT).
#pragma once

#include "warp_identity.h"

#include <exception>
#include <mutex>
#include <string>
#include <vector>

namespace stmfnet_trt
{
namespace ort
{

// An error that says which of our ops raised it.
inline Ort::Exception opError(char const* opName, std::string const& text, OrtErrorCode code = ORT_INVALID_ARGUMENT)
{
    return Ort::Exception(std::string(opName) + " (" + kWarpOpDomain + "): " + text, code);
}

// Turns any exception into an OrtStatus, so that none crosses into ONNX Runtime.
template <typename Fn>
OrtStatusPtr statusOf(Fn&& fn) noexcept
{
    try
    {
        fn();
        return nullptr;
    }
    catch (Ort::Exception const& e)
    {
        return Ort::Status(e).release();
    }
    catch (std::exception const& e)
    {
        return Ort::Status(e.what(), ORT_FAIL).release();
    }
    catch (...)
    {
        return Ort::Status("unknown exception", ORT_FAIL).release();
    }
}

// An optional int attribute: absent -> `fallback`; present with another type -> error. ORT reports
// "absent" and "wrong type" alike, so a float read tells the two apart.
template <typename ReadInt, typename ReadFloat>
int64_t optionalInt(char const* opName, char const* name, int64_t fallback, ReadInt readInt, ReadFloat readFloat)
{
    try
    {
        return readInt(name);
    }
    catch (Ort::Exception const&)
    {
    }
    try
    {
        readFloat(name);
    }
    catch (Ort::Exception const&)
    {
        return fallback;
    }
    throw opError(opName, std::string("attribute '") + name + "' must be an int");
}

// ONNX Runtime keeps raw pointers to the ops and domains for the lifetime of every session that
// registered them: ops are function statics, domains live in this list until the process exits.
inline void keepDomain(Ort::CustomOpDomain&& domain)
{
    static std::mutex mutex;
    static std::vector<Ort::CustomOpDomain> domains;
    std::lock_guard<std::mutex> lock(mutex);
    domains.push_back(std::move(domain));
}

} // namespace ort
} // namespace stmfnet_trt
