// The TensorRT interfaces this library *calls* (the plugin registry, the logger and the logger
// finder) in the two C++ ABIs that ship today, independent of the headers it is compiled against.
//
// The plugin side (IPluginV3*, IPluginCreatorV3One: what TensorRT calls in us) has one layout in
// TensorRT 10.x, 11.x and TensorRT-RTX 1.x. The interfaces TensorRT implements do not:
//
// | vtable of          | TensorRT 10.x                         | TensorRT 11.x and TensorRT-RTX 1.x       |
// |--------------------|---------------------------------------|------------------------------------------|
// | IPluginRegistry    | 4 IPluginCreator (V2) methods first   | V2 methods removed: every slot moves up  |
// | ILogger            | log() in slot 0                       | derives IVersionedInterface: log() in 4  |
// | ILoggerFinder      | findLogger() in slot 0                | derives IVersionedInterface: slot 4      |
//
// (Checked on the shipped libraries: libnvinfer_lean.so.10 of 10.16.1, libnvinfer_lean.so.11 of
// 11.4.0 and libtensorrt_rtx.so.1 of 1.7.1, by which slot returns our creator from getCreator and by
// the RTTI base chain of the logger finder each passes to setLoggerFinder.) Calling a 10.x slot on an
// 11.x object calls some other method, so each call below goes through the mirror of the layout of
// the library that owns the object, chosen by layoutOfLibrary(). Only slot order matters in a mirror:
// names of removed methods are ours, and the classes are never instantiated.
#pragma once

#include <NvInferRuntime.h>

#include <cstdint>
#include <cstring>
#include <cxxabi.h>
#include <dlfcn.h>
#include <string>
#include <typeinfo>
#include <vector>

namespace stmfnet_trt
{
namespace trt_abi
{

using Severity = nvinfer1::ILogger::Severity; // same values in every version
using nvinfer1::IPluginCreatorInterface;      // implemented by us: same layout everywhere

enum class Layout : int32_t
{
    kUnknown = 0, // another major version: never call into it
    kTrt10 = 10,  // TensorRT 10.x
    kTrt11 = 11,  // TensorRT 11.x and TensorRT-RTX 1.x
};

// The layout of the headers this library is compiled against (TensorRT-RTX headers define TRT_MAJOR_RTX).
#if defined(TRT_MAJOR_RTX) || NV_TENSORRT_MAJOR >= 11
constexpr Layout kCompiledLayout = Layout::kTrt11;
#else
constexpr Layout kCompiledLayout = Layout::kTrt10;
#endif

// IVersionedInterface is the same in 10.x and 11.x (getAPILanguage, getInterfaceInfo, destructor).
struct InterfaceInfoPod
{
    char const* kind;
    int32_t major;
    int32_t minor;
};

class VersionedInterface
{
public:
    virtual int32_t getAPILanguage() const noexcept = 0;
    virtual InterfaceInfoPod getInterfaceInfo() const noexcept = 0;

protected:
    virtual ~VersionedInterface() noexcept = default;
};

namespace trt10
{

class ILogger
{
public:
    virtual void log(Severity severity, char const* msg) noexcept = 0;

protected:
    virtual ~ILogger() = default;
};

class ILoggerFinder
{
public:
    virtual ILogger* findLogger() = 0;

protected:
    virtual ~ILoggerFinder() = default;
};

class IPluginRegistry
{
public:
    virtual bool registerCreatorV2(void* creator, char const* pluginNamespace) noexcept = 0;
    virtual void* const* getPluginCreatorListV2(int32_t* numCreators) const noexcept = 0;
    virtual void* getPluginCreatorV2(char const* name, char const* version, char const* ns) noexcept = 0;

protected:
    virtual ~IPluginRegistry() noexcept = default; // two slots (complete and deleting destructor)

public:
    virtual void setErrorRecorder(void* recorder) noexcept = 0;
    virtual void* getErrorRecorder() const noexcept = 0;
    virtual bool deregisterCreatorV2(void const* creator) noexcept = 0;
    virtual bool isParentSearchEnabled() const = 0;
    virtual void setParentSearchEnabled(bool enabled) = 0;
    virtual void* loadLibrary(char const* pluginPath) noexcept = 0;
    virtual void deregisterLibrary(void* handle) noexcept = 0;
    virtual bool registerCreator(IPluginCreatorInterface& creator, char const* pluginNamespace) noexcept = 0;
    virtual IPluginCreatorInterface* const* getAllCreators(int32_t* numCreators) const noexcept = 0;
    virtual IPluginCreatorInterface* getCreator(char const* name, char const* version, char const* ns) noexcept = 0;
    virtual bool deregisterCreator(IPluginCreatorInterface const& creator) noexcept = 0;
};

} // namespace trt10

namespace trt11
{

class ILogger : public VersionedInterface
{
public:
    virtual void log(Severity severity, char const* msg) noexcept = 0;
};

class ILoggerFinder : public VersionedInterface
{
public:
    virtual ILogger* findLogger() = 0;
};

class IPluginRegistry
{
protected:
    virtual ~IPluginRegistry() noexcept = default; // two slots

public:
    virtual void setErrorRecorder(void* recorder) noexcept = 0;
    virtual void* getErrorRecorder() const noexcept = 0;
    virtual bool isParentSearchEnabled() const = 0;
    virtual void setParentSearchEnabled(bool enabled) = 0;
    virtual void* loadLibrary(char const* pluginPath) noexcept = 0;
    virtual void deregisterLibrary(void* handle) noexcept = 0;
    virtual bool registerCreator(IPluginCreatorInterface& creator, char const* pluginNamespace) noexcept = 0;
    virtual IPluginCreatorInterface* const* getAllCreators(int32_t* numCreators) const noexcept = 0;
    virtual IPluginCreatorInterface* getCreator(char const* name, char const* version, char const* ns) noexcept = 0;
    virtual bool deregisterCreator(IPluginCreatorInterface const& creator) noexcept = 0;
};

} // namespace trt11

// The layout of an already-loaded TensorRT library, from its exported getInferLibMajorVersion()
// and its file name (TensorRT-RTX counts its own versions from 1). kUnknown for anything else.
inline Layout layoutOfLibrary(void* handle, char const* fileName) noexcept
{
    using MajorFn = int32_t (*)();
    auto const major = handle ? reinterpret_cast<MajorFn>(dlsym(handle, "getInferLibMajorVersion")) : nullptr;
    if (major == nullptr || fileName == nullptr)
    {
        return Layout::kUnknown;
    }
    int32_t const m = major();
    if (std::strstr(fileName, "tensorrt_rtx") != nullptr)
    {
        return m == 1 ? Layout::kTrt11 : Layout::kUnknown;
    }
    return m == 10 ? Layout::kTrt10 : m == 11 ? Layout::kTrt11 : Layout::kUnknown;
}

// Whether the dynamic type of a polymorphic object derives from a class named IVersionedInterface,
// from the RTTI its vtable points to: 1 yes, 0 no, -1 no RTTI.
inline int derivesFromVersionedInterface(void const* object) noexcept
{
    auto const* const vtable = *static_cast<void const* const* const*>(object);
    auto const* type = static_cast<std::type_info const*>(vtable[-1]);
    if (type == nullptr)
    {
        return -1;
    }
    constexpr char kSuffix[] = "19IVersionedInterfaceE"; // mangled, in whatever inline namespace
    std::vector<std::type_info const*> todo{type};
    while (!todo.empty())
    {
        type = todo.back();
        todo.pop_back();
        char const* const name = type->name();
        size_t const n = std::strlen(name);
        if (n >= sizeof(kSuffix) - 1 && std::strcmp(name + n - (sizeof(kSuffix) - 1), kSuffix) == 0)
        {
            return 1;
        }
        if (auto const* si = dynamic_cast<abi::__si_class_type_info const*>(type))
        {
            todo.push_back(si->__base_type);
        }
        else if (auto const* vmi = dynamic_cast<abi::__vmi_class_type_info const*>(type))
        {
            for (unsigned i = 0; i < vmi->__base_count; ++i)
            {
                todo.push_back(vmi->__base_info[i].__base_type);
            }
        }
    }
    return 0;
}

// The layout of an object TensorRT handed us (a logger finder): that of the TensorRT library holding
// its vtable; for an object from elsewhere (a host test, an application's own loader), what its RTTI
// says; without RTTI, that of the headers this library was compiled against.
inline Layout layoutOfObject(void const* object, std::string* libraryName = nullptr) noexcept
{
    if (object == nullptr)
    {
        return Layout::kUnknown;
    }
    Dl_info info{};
    if (dladdr(*static_cast<void* const*>(object), &info) != 0 && info.dli_fname != nullptr)
    {
        if (libraryName != nullptr)
        {
            *libraryName = info.dli_fname;
        }
        void* const handle = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
        Layout const layout = layoutOfLibrary(handle, info.dli_fname);
        if (handle != nullptr)
        {
            dlclose(handle); // balances the NOLOAD reference; the library stays loaded
        }
        if (layout != Layout::kUnknown)
        {
            return layout;
        }
    }
    try
    {
        int const versioned = derivesFromVersionedInterface(object);
        if (versioned >= 0)
        {
            return versioned == 1 ? Layout::kTrt11 : Layout::kTrt10;
        }
    }
    catch (...)
    {
    }
    return kCompiledLayout;
}

// ---- calls through the right mirror

inline IPluginCreatorInterface* registryGetCreator(
    void* registry, Layout layout, char const* name, char const* version, char const* ns) noexcept
{
    switch (layout)
    {
    case Layout::kTrt10: return static_cast<trt10::IPluginRegistry*>(registry)->getCreator(name, version, ns);
    case Layout::kTrt11: return static_cast<trt11::IPluginRegistry*>(registry)->getCreator(name, version, ns);
    case Layout::kUnknown: break;
    }
    return nullptr;
}

inline bool registryRegisterCreator(
    void* registry, Layout layout, IPluginCreatorInterface& creator, char const* ns) noexcept
{
    switch (layout)
    {
    case Layout::kTrt10: return static_cast<trt10::IPluginRegistry*>(registry)->registerCreator(creator, ns);
    case Layout::kTrt11: return static_cast<trt11::IPluginRegistry*>(registry)->registerCreator(creator, ns);
    case Layout::kUnknown: break;
    }
    return false;
}

inline bool registryDeregisterCreator(void* registry, Layout layout, IPluginCreatorInterface const& creator) noexcept
{
    switch (layout)
    {
    case Layout::kTrt10: return static_cast<trt10::IPluginRegistry*>(registry)->deregisterCreator(creator);
    case Layout::kTrt11: return static_cast<trt11::IPluginRegistry*>(registry)->deregisterCreator(creator);
    case Layout::kUnknown: break;
    }
    return false;
}

// findLogger() of a logger finder; the logger has the finder's layout. Null when unknown or none.
inline void* finderFindLogger(void* finder, Layout layout) noexcept
{
    try
    {
        switch (layout)
        {
        case Layout::kTrt10: return static_cast<trt10::ILoggerFinder*>(finder)->findLogger();
        case Layout::kTrt11: return static_cast<trt11::ILoggerFinder*>(finder)->findLogger();
        case Layout::kUnknown: break;
        }
    }
    catch (...)
    {
    }
    return nullptr;
}

inline bool loggerLog(void* logger, Layout layout, Severity severity, char const* msg) noexcept
{
    switch (layout)
    {
    case Layout::kTrt10: static_cast<trt10::ILogger*>(logger)->log(severity, msg); return true;
    case Layout::kTrt11: static_cast<trt11::ILogger*>(logger)->log(severity, msg); return true;
    case Layout::kUnknown: break;
    }
    return false;
}

} // namespace trt_abi
} // namespace stmfnet_trt
