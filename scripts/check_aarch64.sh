#!/usr/bin/env bash
# Cross-build the CPU op library and its host tests for aarch64 (Jetson, Graviton, Ampere) with
# Debian's cross compiler, then run the ctest suite under qemu-user: checks that the baseline build
# (no AVX2 path outside x86-64) compiles, links with --no-undefined and gives the golden answers.
# The CUDA plugin is not built (nvcc here has no aarch64 host compiler); build that on the device.
#
# Needs: apt-get install g++-aarch64-linux-gnu qemu-user-static (or qemu-user).
# Usage: scripts/check_aarch64.sh [BUILD_DIR]   (default: build/aarch64)   `make aarch64-check`
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-${repo_root}/build/aarch64}"
compiler="$(command -v aarch64-linux-gnu-g++ || true)"
emulator="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
if [[ -z "${compiler}" || -z "${emulator}" ]]; then
    echo "check_aarch64: needs aarch64-linux-gnu-g++ and qemu-aarch64(-static): apt-get install g++-aarch64-linux-gnu qemu-user-static" >&2
    exit 1
fi

cmake -S "${repo_root}" -B "${build_dir}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
    -DCMAKE_CXX_COMPILER="${compiler}" \
    -DCMAKE_CROSSCOMPILING_EMULATOR="${emulator};-L;/usr/aarch64-linux-gnu" \
    -DSTMFNET_BUILD_TRT_PLUGIN=OFF
cmake --build "${build_dir}" -j2
ctest --test-dir "${build_dir}" --output-on-failure
file "${build_dir}/libstmfnet_trt_ort_ops.so"
