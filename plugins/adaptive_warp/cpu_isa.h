// Run-time ISA choice shared by the CPU ops' two builds (baseline and AVX2): asked once per process.
#pragma once

namespace stmfnet_trt
{

#if defined(__x86_64__) || defined(__i386__)
inline bool avx2Available()
{
    static bool const available = __builtin_cpu_supports("avx2");
    return available;
}
#endif

} // namespace stmfnet_trt
