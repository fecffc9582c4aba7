#!/usr/bin/env bash
# Fetch TensorRT API headers (10.14.1, Apache-2.0) into third_party/tensorrt/include.
#
# Why this way: a TensorRT plugin library needs only the NvInfer*.h headers at build time (no
# libnvinfer link: the runtime that loads the plugin provides the symbols). Machines without a
# TensorRT install (CI, this CPU box) get the headers from the kernel-lens wheel, which vendors them
# under kernel_lens/include/tensorrt/. We download it with pip --no-deps (its metadata pulls torch
# and triton), check its sha256 and unzip only the headers; nothing is installed. Point CMake at a
# real TensorRT with -DTENSORRT_ROOT=... instead whenever you have one (Jetson, desktop).
#
# Usage: scripts/fetch_trt_headers.sh [DEST]   (default: <repo>/third_party/tensorrt)
# Prints the include directory on its last line.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-${repo_root}/third_party/tensorrt}"
include_dir="${dest}/include"
wheel_version="2.0.1"
wheel_sha256="07cc714e8b5e7f34b672f7c7fad93febe7c747be5837ba276b1527370134ffe0"

if [[ -f "${include_dir}/NvInferRuntime.h" ]]; then
    echo "${include_dir}"
    exit 0
fi

# Any Python with pip will do: $PYTHON (the wheel build's), the repo's venv, then python3. -I
# (isolated mode) ignores PYTHONPATH, through which pip's isolated build environment hides the
# interpreter's own pip; pip's PIP_* settings still apply.
python=""
for candidate in "${PYTHON:-}" "${repo_root}/.venv/bin/python" python3; do
    if [[ -n "${candidate}" ]] && "${candidate}" -I -m pip --version >/dev/null 2>&1; then
        python="${candidate}"
        break
    fi
done
if [[ -z "${python}" ]]; then
    echo "fetch_trt_headers: no Python with pip found; pass -DTENSORRT_ROOT=<TensorRT dir>" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
"${python}" -I -m pip download --quiet --no-deps --only-binary=:all: \
    "kernel-lens==${wheel_version}" -d "${work}" >&2
wheel="$(ls "${work}"/kernel_lens-*.whl)"
echo "${wheel_sha256}  ${wheel}" | sha256sum --check --quiet - >&2 || {
    echo "fetch_trt_headers: sha256 mismatch for $(basename "${wheel}")" >&2
    exit 1
}

mkdir -p "${include_dir}"
"${python}" - "${wheel}" "${include_dir}" <<'PY'
import sys
import zipfile
from pathlib import Path

wheel, out = sys.argv[1], Path(sys.argv[2])
prefix = "kernel_lens/include/tensorrt/"
with zipfile.ZipFile(wheel) as zf:
    for name in zf.namelist():
        if name.startswith(prefix) and name.endswith(".h"):
            (out / name[len(prefix):]).write_bytes(zf.read(name))
PY
basename "${wheel}" >"${dest}/SOURCE"
echo "fetch_trt_headers: unpacked TensorRT headers from $(basename "${wheel}") into ${include_dir}" >&2
echo "${include_dir}"
