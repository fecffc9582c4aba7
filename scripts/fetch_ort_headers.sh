#!/usr/bin/env bash
# Fetch the ONNX Runtime C/C++ API headers into third_party/onnxruntime/include.
#
# Why this way: the onnxruntime wheel ships no headers, and Debian has libonnxruntime-dev only
# from trixie on (1.21, ORT_API_VERSION 21). Headers older than the runtime are fine (an op built
# against API 21 runs in ORT 1.32); newer ones are not. We read trixie through a PRIVATE apt list,
# state and cache directory so the machine's own apt configuration stays untouched, then unpack the
# .deb with dpkg -x (no install). Use -DORT_INCLUDE_DIR=... to point CMake at headers you already have.
#
# Usage: scripts/fetch_ort_headers.sh [DEST]   (default: <repo>/third_party/onnxruntime)
# Prints the include directory on its last line.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-${repo_root}/third_party/onnxruntime}"
include_dir="${dest}/include"
suite="${STMFNET_ORT_DEBIAN_SUITE:-trixie}"
mirror="${STMFNET_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [[ -f "${include_dir}/onnxruntime_cxx_api.h" ]]; then
    echo "${include_dir}"
    exit 0
fi

for tool in apt-get dpkg; do
    command -v "${tool}" >/dev/null || {
        echo "fetch_ort_headers: '${tool}' not found; pass -DORT_INCLUDE_DIR=<dir with onnxruntime_cxx_api.h>" >&2
        exit 1
    }
done

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [[ ! -f "${keyring}" ]]; then
    echo "fetch_ort_headers: no Debian archive keyring (${keyring}; not Debian?): pass -DORT_INCLUDE_DIR=<include dir of an onnxruntime release archive>" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${work}/lists/partial" "${work}/cache/archives/partial" "${work}/deb"
chmod -R a+rwx "${work}"   # apt drops to the _apt user for downloads when run as root

echo "deb [signed-by=${keyring}] ${mirror} ${suite} main" >"${work}/sources.list"

apt_opts=(
    -o "Dir::Etc::sourcelist=${work}/sources.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=${work}/lists"
    -o "Dir::Cache=${work}/cache"
    -o "Debug::NoLocking=1"
    -o "APT::Get::List-Cleanup=0"
)
apt-get "${apt_opts[@]}" -qq update >&2
(cd "${work}/deb" && apt-get "${apt_opts[@]}" -qq download libonnxruntime-dev >&2)

deb="$(ls "${work}"/deb/libonnxruntime-dev_*.deb)"
dpkg -x "${deb}" "${work}/root"
mkdir -p "${include_dir}"
cp -r "${work}/root/usr/include/onnxruntime/." "${include_dir}/"
# Keep the licence and version next to the headers (they are not committed: third_party/ is ignored).
cp "${work}/root/usr/share/doc/libonnxruntime-dev/copyright" "${dest}/copyright" 2>/dev/null || true
basename "${deb}" >"${dest}/SOURCE"
echo "fetch_ort_headers: unpacked $(basename "${deb}") into ${include_dir}" >&2
echo "${include_dir}"
