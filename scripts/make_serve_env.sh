#!/usr/bin/env bash
# Creates .venv-serve: the Triton serving stack beside the main .venv, not inside it.
#
# Why a second environment: nvidia-pytriton (tritonserver binary + Python backend) pins numpy<2,
# and tritonclient pins ml_dtypes<=0.5.4 and protobuf<7; installing them into .venv would
# downgrade numpy, ml_dtypes and protobuf under the export/calibration tools. Here they get their
# own interpreter; the project is installed editable without dependencies, so both environments
# run the same source tree. The tests find this environment (tests/serve/conftest.py) or skip.
#
#   scripts/make_serve_env.sh [VENV]        default .venv-serve; WITH_TORCH=1 adds the CPU torch
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv-serve}"
PYTHON="${PYTHON:-python3}"
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
# Keep git away from it without touching the shared .gitignore.
echo '*' > "$VENV/.gitignore"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
if [ "${WITH_TORCH:-0}" = 1 ]; then
  # As in the Makefile: the CPU wheel first, so nothing later pulls a CUDA build.
  "$VENV/bin/python" -m pip install --quiet torch==2.13.0
fi
# aiohttp and grpcio come with tritonclient, but serve's checking front imports them itself.
"$VENV/bin/python" -m pip install --quiet "numpy<2" "onnxruntime>=1.21" "av>=18" "tqdm>=4.60" \
  "nvidia-pytriton>=0.7" "tritonclient[http,grpc]>=2.50" "aiohttp>=3.9" "grpcio>=1.60"
"$VENV/bin/python" -m pip install --quiet --no-deps -e .
"$VENV/bin/python" -c "import pytriton, tritonclient.grpc, aiohttp, grpc, numpy; print('serve env ready: numpy', numpy.__version__)"
