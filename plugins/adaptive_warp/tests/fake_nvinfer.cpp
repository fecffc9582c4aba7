// A stand-in for libnvinfer.so.10, built as libnvinfer.so.10 for test_self_registration: the three
// C entry points the plugin library looks up when it is dlopen'ed (getPluginRegistry, getLogger,
// getInferLibMajorVersion) with a registry, logger and logger finder compiled from the TensorRT 10.x
// headers. So the vtables the plugin library calls through its own mirrors (trt_runtime_abi.h) are
// the ones the 10.x headers define; a call landing in any other slot is counted as unexpected.
#include <NvInferRuntime.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations" // the IPluginCreator (V2) slots must exist

namespace
{

using nvinfer1::AsciiChar;
using nvinfer1::IPluginCreatorInterface;

int gUnexpected = 0;
std::mutex gMutex;

struct Entry
{
    IPluginCreatorInterface* creator;
    std::string name, version, ns;
};

bool identity(IPluginCreatorInterface const& c, std::string& name, std::string& version)
{
    if (std::strcmp(c.getInterfaceInfo().kind, "PLUGIN CREATOR_V3ONE") != 0)
    {
        return false;
    }
    auto const& v3 = static_cast<nvinfer1::IPluginCreatorV3One const&>(c);
    name = v3.getPluginName();
    version = v3.getPluginVersion();
    return true;
}

class FakeRegistry final : public nvinfer1::IPluginRegistry
{
public:
    bool registerCreator(nvinfer1::IPluginCreator&, AsciiChar const* const) noexcept override
    {
        return unexpected();
    }
    nvinfer1::IPluginCreator* const* getPluginCreatorList(int32_t* const) const noexcept override
    {
        ++gUnexpected;
        return nullptr;
    }
    nvinfer1::IPluginCreator* getPluginCreator(AsciiChar const* const, AsciiChar const* const, AsciiChar const* const) noexcept override
    {
        ++gUnexpected;
        return nullptr;
    }
    void setErrorRecorder(nvinfer1::IErrorRecorder* const) noexcept override
    {
        ++gUnexpected;
    }
    nvinfer1::IErrorRecorder* getErrorRecorder() const noexcept override
    {
        ++gUnexpected;
        return nullptr;
    }
    bool deregisterCreator(nvinfer1::IPluginCreator const&) noexcept override
    {
        return unexpected();
    }
    bool isParentSearchEnabled() const override
    {
        ++gUnexpected;
        return false;
    }
    void setParentSearchEnabled(bool const) override
    {
        ++gUnexpected;
    }
    PluginLibraryHandle loadLibrary(AsciiChar const*) noexcept override
    {
        ++gUnexpected;
        return nullptr;
    }
    void deregisterLibrary(PluginLibraryHandle) noexcept override
    {
        ++gUnexpected;
    }
    // Like TensorRT: refuses a name/version/namespace that is already registered.
    bool registerCreator(IPluginCreatorInterface& creator, AsciiChar const* const ns) noexcept override
    {
        std::lock_guard<std::mutex> lock(gMutex);
        Entry e{&creator, "", "", ns ? ns : ""};
        if (!identity(creator, e.name, e.version) || find(e.name.c_str(), e.version.c_str(), e.ns.c_str()))
        {
            return false;
        }
        mEntries.push_back(e);
        return true;
    }
    IPluginCreatorInterface* const* getAllCreators(int32_t* const) const noexcept override
    {
        ++gUnexpected;
        return nullptr;
    }
    IPluginCreatorInterface* getCreator(
        AsciiChar const* const name, AsciiChar const* const version, AsciiChar const* const ns) noexcept override
    {
        std::lock_guard<std::mutex> lock(gMutex);
        Entry const* e = find(name, version, ns);
        return e ? e->creator : nullptr;
    }
    bool deregisterCreator(IPluginCreatorInterface const& creator) noexcept override
    {
        std::lock_guard<std::mutex> lock(gMutex);
        for (auto it = mEntries.begin(); it != mEntries.end(); ++it)
        {
            if (it->creator == &creator)
            {
                mEntries.erase(it);
                return true;
            }
        }
        return false;
    }
    nvinfer1::IPluginResource* acquirePluginResource(AsciiChar const*, nvinfer1::IPluginResource*) noexcept override
    {
        ++gUnexpected;
        return nullptr;
    }
    int32_t releasePluginResource(AsciiChar const*) noexcept override
    {
        ++gUnexpected;
        return -1;
    }
    IPluginCreatorInterface* const* getAllCreatorsRecursive(int32_t* const) noexcept override
    {
        ++gUnexpected;
        return nullptr;
    }

    int32_t count(char const* name, char const* ns)
    {
        std::lock_guard<std::mutex> lock(gMutex);
        int32_t n = 0;
        for (Entry const& e : mEntries)
        {
            n += (e.name == name && e.ns == ns) ? 1 : 0;
        }
        return n;
    }

private:
    static bool unexpected()
    {
        ++gUnexpected;
        return false;
    }
    Entry const* find(char const* name, char const* version, char const* ns) const
    {
        for (Entry const& e : mEntries)
        {
            if (e.name == (name ? name : "") && e.version == (version ? version : "") && e.ns == (ns ? ns : ""))
            {
                return &e;
            }
        }
        return nullptr;
    }
    std::vector<Entry> mEntries;
};

class FakeLogger final : public nvinfer1::ILogger
{
public:
    void log(Severity severity, AsciiChar const* msg) noexcept override
    {
        std::lock_guard<std::mutex> lock(gMutex);
        messages.push_back(std::to_string(static_cast<int>(severity)) + " " + msg);
    }
    std::vector<std::string> messages;
};

class FakeFinder final : public nvinfer1::ILoggerFinder
{
public:
    nvinfer1::ILogger* findLogger() override
    {
        return &logger;
    }
    FakeLogger logger;
};

FakeRegistry gRegistry;
FakeFinder gFinder; // its logger is also what getLogger() returns

} // namespace

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

FAKE_EXPORT nvinfer1::IPluginRegistry* getPluginRegistry() noexcept
{
    return &gRegistry;
}

FAKE_EXPORT nvinfer1::ILogger* getLogger() noexcept
{
    return &gFinder.logger;
}

FAKE_EXPORT int32_t getInferLibMajorVersion() noexcept
{
    return 10;
}

// ---- test hooks

FAKE_EXPORT int32_t fakeCreatorCount(char const* name, char const* ns)
{
    return gRegistry.count(name, ns);
}

FAKE_EXPORT int32_t fakeUnexpectedCalls()
{
    return gUnexpected;
}

FAKE_EXPORT nvinfer1::ILoggerFinder* fakeLoggerFinder()
{
    return &gFinder;
}

// Number of logged messages containing `fragment` (each message is "<severity> <text>").
FAKE_EXPORT int32_t fakeLogCount(char const* fragment)
{
    std::lock_guard<std::mutex> lock(gMutex);
    int32_t n = 0;
    for (std::string const& m : gFinder.logger.messages)
    {
        n += m.find(fragment) != std::string::npos ? 1 : 0;
    }
    return n;
}

FAKE_EXPORT void fakePrintLog()
{
    std::lock_guard<std::mutex> lock(gMutex);
    for (std::string const& m : gFinder.logger.messages)
    {
        std::printf("  log: %s\n", m.c_str());
    }
}
