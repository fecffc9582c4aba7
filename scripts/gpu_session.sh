#!/usr/bin/env bash
# Everything this project checks on a lent CUDA GPU, in one timed pass (no TensorRT needed):
#
#   1. times a training step in float32 and under bfloat16 autocast (bench/train_step.py) and
#      trains ST-MFNet Mini on the demo data for TRAIN_MINUTES in the faster precision (workers
#      make the batches), and meanwhile builds the plugin library for the card and runs the
#      `gpu`-marked tests (the CUDA warp kernel against the golden cases and the PyTorch oracle;
#      the cuda-python binding);
#   2. scores the trained weights on the held-out tails of the training clips (`eval`, torch on
#      the GPU, against blending and repetition);
#   3. benchmarks torch eager on the GPU per resolution (`bench`: latency, frames/s, host and
#      device memory) and the warp kernel alone (bench/warp_kernel_gpu.py).
#
#   OUT=out/gpu DATA=~/.cache/stmfnet-trt/data scripts/gpu_session.sh
#   INIT=stmfnet_trt/weights/stmfnet_mini_demo.pth TRAIN_SEED=2 scripts/gpu_session.sh  # go on from weights
#   STAGES=train TRAIN_MINUTES=7.5 scripts/gpu_session.sh  # a short loan: every minute to training
#
# A later leg starts from INIT's weights with a new TRAIN_SEED (new batches; the optimiser state is
# not kept: the returned files stay under the 16 MB a lent machine hands back).
# Without a package index (a sealed GPU machine), put the wheels it lacks (PyAV) in WHEELS and they
# are installed into a private folder first. Each stage has its own time limit and a failing stage
# does not stop the others: the log says which ones failed, and the exit status counts them.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT="${OUT:-out/gpu}"
DATA="${DATA:-$HOME/.cache/stmfnet-trt/data}"
WHEELS="${WHEELS:-}"
PY="${PY:-python3}"
DEVICE="${DEVICE:-cuda}"
TRAIN_MINUTES="${TRAIN_MINUTES:-5}"
TRAIN_CONFIG="${TRAIN_CONFIG:-scripts/train_gpu.json}"
INIT="${INIT:-}"
PRECISION="${PRECISION:-auto}"  # fp32, bf16, or auto: the faster one by bench/train_step.py
STAGES="${STAGES:-train build gpu-tests eval bench}"
TRAIN_SEED="${TRAIN_SEED:-0}"
BENCH_SIZES="${BENCH_SIZES:-256 540p 720p 1080p 4k}"
CUDA_ARCH="${CUDA_ARCH:-90}"  # H100 / H200
RUN="${RUN:-$OUT/run}"
CLI=("$PY" -m stmfnet_trt.cli)
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
failures=0

wants() { [[ " $STAGES " == *" $1 "* ]]; }

stage() {  # stage NAME SECONDS CMD...: run with a time limit, log and count a failure, return its rc
  local name="$1" limit="$2" began=$SECONDS rc
  shift 2
  echo "=== $name: start (limit ${limit}s)"
  timeout --signal=INT --kill-after=20 "$limit" "$@"
  rc=$?
  echo "=== $name: rc=$rc after $((SECONDS - began))s"
  [ "$rc" = 0 ] || failures=$((failures + 1))
  return "$rc"
}

if [ -n "$WHEELS" ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/stmfnet-wheels "$WHEELS"/*.whl || exit 1
  export PYTHONPATH="$PYTHONPATH:/tmp/stmfnet-wheels"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"

# 1. training in the background; the build and the GPU tests meanwhile (they take little GPU).
if wants train; then
  if [ "$PRECISION" = auto ]; then
    stage step-bench 180 "$PY" bench/train_step.py --device "$DEVICE" --out "$OUT/train_step.json"
    PRECISION=$("$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['pick'])" \
      "$OUT/train_step.json" 2>/dev/null || echo fp32)
  fi
  stage train $((${TRAIN_MINUTES%.*} * 60 + 150)) "${CLI[@]}" train --data "$DATA" --out "$RUN" \
    --config "$TRAIN_CONFIG" --seed "$TRAIN_SEED" ${INIT:+--init "$INIT"} --max-minutes "$TRAIN_MINUTES" \
    --precision "$PRECISION" --device "$DEVICE" -q &
  train_job=$!
fi
wants build && stage build 240 bash -c "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCH \
  -DTENSORRT_ROOT='$PWD/third_party/tensorrt' -DORT_INCLUDE_DIR='$PWD/third_party/onnxruntime' >/dev/null \
  && cmake --build build -j\$(nproc) >/dev/null"
wants gpu-tests && stage gpu-tests 240 "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/plugins/test_plugins_native.py \
  tests/runtime/cuda/test_cuda_binding_gpu.py
if wants train; then
  wait "$train_job" || failures=$((failures + 1))  # the background stage's own count is lost
  tail -n 3 "$RUN/log.jsonl" || true
  "$PY" - "$RUN" "$OUT" <<'PY' || failures=$((failures + 1))
import sys
from pathlib import Path

import torch

run, out = Path(sys.argv[1]), Path(sys.argv[2])
blob = torch.load(run / "last.pth", map_location="cpu", weights_only=True)
torch.save({"epoch": blob["epoch"], "step": blob["step"], "state_dict": blob["state_dict"]}, out / "last_weights.pth")
print("last step", blob["step"], "best held-out PSNR", blob["best_psnr"])
PY
  cp "$RUN/best.pth" "$RUN/log.jsonl" "$RUN/config.json" "$OUT/" 2>/dev/null || failures=$((failures + 1))
  rm -rf "$RUN"  # last.pth keeps the optimiser state: too big to hand back
fi

# 2. held-out score of the weights (the GPU is free again).
if wants eval; then
  stage held-out 120 "$PY" scripts/held_out_clips.py --data "$DATA" --config "$OUT/config.json" --out "$OUT/held_out"
  for weights in best last_weights; do
    json_flag=()
    [ "$weights" = best ] && json_flag=(--json "$OUT/eval.json")
    stage "eval-$weights" 120 "${CLI[@]}" eval "$OUT"/held_out/* --backend torch --device "$DEVICE" \
      --checkpoint "$OUT/$weights.pth" --no-minterpolate -q "${json_flag[@]}"
  done
  rm -rf "$OUT/held_out"
fi

# 3. speed: the whole model per resolution, then the warp kernel alone.
if wants bench; then
  # shellcheck disable=SC2086  # BENCH_SIZES is a list
  stage bench 240 "${CLI[@]}" bench --backends torch,blend --device "$DEVICE" --checkpoint "$OUT/best.pth" \
    --sizes $BENCH_SIZES --warmup 2 --iterations 10 --json "$OUT/bench-gpu.json" --plot "$OUT/bench-gpu.png"
  stage warp-kernel 90 "$PY" bench/warp_kernel_gpu.py --iters 50 --out "$OUT/warp_kernel_gpu.json"
fi

echo "=== done: $failures stage(s) failed"
exit "$failures"
