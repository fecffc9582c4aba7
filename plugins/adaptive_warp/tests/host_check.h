// What every host test (ctest) reports through: a PASS/FAIL line per check, the failure count, and
// the exit status ctest reads.
#pragma once

#include <cstdio>
#include <string>

namespace stmfnet_trt
{
namespace test
{

inline int& failureCount()
{
    static int count = 0;
    return count;
}

inline void check(bool ok, std::string const& what)
{
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
    failureCount() += ok ? 0 : 1;
}

// Prints the total; 0 when every check passed.
inline int exitStatus()
{
    std::printf("%d failure(s)\n", failureCount());
    return failureCount() == 0 ? 0 : 1;
}

} // namespace test
} // namespace stmfnet_trt
