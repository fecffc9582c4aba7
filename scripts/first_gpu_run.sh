#!/usr/bin/env bash
# The TensorRT path's first run on a GPU machine, as one step (a user's machine or a CI job):
#
#   1. env     driver, CUDA, GPU and compute capability, TensorRT flavours and versions, CUDA
#              bindings, the plugin library and whether this driver can run it (driver floor);
#   2. export  the demo weights to the plugin variant (needs torch; once, reused below);
#   3. build-tensorrt / build-rtx  an FP32 engine per TensorRT flavour present, for the demo clip's
#              padded size; where neither is installed (a data-centre GPU), TensorRT-RTX is
#              installed from the package index (TRY_RTX=1) and the report records whether its
#              runtime accepts this GPU;
#   4. tests   every `gpu`/`tensorrt`-marked test (pytest -m "gpu or tensorrt");
#   5. run-xN  `run` at x2, x4 and x8 on assets/demo.mp4 with each engine and with ONNX Runtime
#              (same export), to PNG folders, compared frame for frame;
#   6. gate    an FP16 build, whose quality gate runs on the engine itself;
#   7. bench   `bench --engines ... --layers` (per-layer TensorRT profile).
#
#   OUT=out/first_gpu_run scripts/first_gpu_run.sh        # -> $OUT/report.md, the one report file
#   STAGES="env tests" scripts/first_gpu_run.sh            # a subset
#   ENGINE_FILES="a.plan b.plan" scripts/first_gpu_run.sh  # engines built elsewhere, run and benched too
#
# A stage that cannot run here (no GPU, no TensorRT, no torch) is skipped with the reason; the
# others go on. Exit status: the number of failed stages (skipped ones are not failures). On a
# machine without a GPU it reports the environment and the skips in seconds.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT="${OUT:-out/first_gpu_run}"
PY="${PY:-python3}"
STAGES="${STAGES:-env export build-tensorrt build-rtx tests run-x2 run-x4 run-x8 gate bench}"
TRY_RTX="${TRY_RTX:-1}"
CLIP="${CLIP:-assets/demo.mp4}"
SHAPES="${SHAPES:-1x128x256:2x256x256:4x256x256}"  # the demo clip (256x144) pads to 256x256
ENGINE_FILES="${ENGINE_FILES:-}"  # engines built elsewhere (space-separated) to run and bench too
STAGE_LIMIT_S="${STAGE_LIMIT_S:-1800}"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
CLI=("$PY" -m stmfnet_trt.cli)
REPORT="$OUT/report.md"
mkdir -p "$OUT/logs"
failures=0
rows=()
details=()

wants() { [[ " $STAGES " == *" $1 "* ]]; }

record() {  # record NAME STATUS SECONDS DETAIL
  rows+=("| $1 | $2 | $3 | ${4//|/\\|} |")
  [ "$2" = failed ] && failures=$((failures + 1))
  return 0
}

skip() {  # skip NAME REASON
  wants "$1" && record "$1" skipped 0 "$2"
  return 0
}

stage() {  # stage NAME CMD...: run with a time limit, log to $OUT/logs/NAME.log, record the outcome
  local name="$1" began=$SECONDS rc
  shift
  wants "$name" || return 0
  echo "=== $name"
  timeout --signal=INT --kill-after=20 "$STAGE_LIMIT_S" "$@" >"$OUT/logs/$name.log" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then
    record "$name" passed $((SECONDS - began)) "$(tail -n 1 "$OUT/logs/$name.log")"
  else
    record "$name" failed $((SECONDS - began)) "exit status $rc (log below)"
  fi
  details+=("$name")
  return "$rc"
}

py_has() { "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null; }

# ------------------------------------------------------------------------------------------ 1. env
GPU_LINE=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
GPU_NAME="${GPU_LINE%%,*}"
# compute_cap is a newer query field: an older driver answers it with an error, not a number.
SM=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '.')
[[ "$SM" =~ ^[0-9]+$ ]] || SM=""
if wants env; then
  began=$SECONDS
  {
    echo "date: $(date -u +%FT%TZ)   host: $(uname -srm)"
    echo "gpu: ${GPU_LINE:-none (nvidia-smi found no GPU)}${SM:+, sm_$SM}"
    echo "nvcc: $(nvcc --version 2>/dev/null | tail -n 2 | head -n 1 || echo absent)"
    "$PY" - <<'EOF'
import importlib, importlib.util
print("python:", __import__("sys").version.split()[0])
for name in ("tensorrt", "tensorrt_rtx", "tensorrt_lean", "cuda.bindings", "pycuda", "torch", "onnxruntime"):
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        print(f"{name}: not installed")
        continue
    try:
        module = importlib.import_module(name)
        extra = ""
        if name == "torch":
            extra = f" (cuda {module.version.cuda}, available: {module.cuda.is_available()})"
        print(f"{name}: {getattr(module, '__version__', '?')}{extra}")
    except Exception as exc:  # an installed module that does not import is worth a line
        print(f"{name}: does not import ({type(exc).__name__}: {exc})")
try:
    from stmfnet_trt.plugins import trt_plugin_library_path
    from stmfnet_trt.runtime.cuda.binding import plugin_driver_problem

    library = trt_plugin_library_path()
    print("plugin library:", library)
    print("driver floor:", plugin_driver_problem(library) or "ok (or no driver)")
except Exception as exc:
    print("plugin library:", exc)
EOF
  } >"$OUT/logs/env.log" 2>&1
  record env passed $((SECONDS - began)) "see the environment section"
  details+=(env)
fi

# -------------------------------------------------------------------------- 2-7. the GPU stages
NO_GPU="no NVIDIA GPU visible (nvidia-smi found none)"
read -r -a ENGINES <<<"$ENGINE_FILES"
if [ -z "$GPU_LINE" ]; then
  for name in export build-tensorrt build-rtx tests run-x2 run-x4 run-x8 gate bench; do skip "$name" "$NO_GPU"; done
else
  ONNX="$OUT/plugin.onnx"
  if ! py_has torch; then
    skip export "torch is not installed (the export needs it)"
  else
    stage export "${CLI[@]}" export -o "$ONNX" --variant plugin --overwrite
  fi
  if [ ! -f "$ONNX" ]; then
    for name in build-tensorrt build-rtx run-x2 run-x4 run-x8 gate bench; do skip "$name" "no exported model"; done
  else
    if py_has tensorrt; then
      stage build-tensorrt "${CLI[@]}" build "$ONNX" --target tensorrt --shapes "$SHAPES" \
        -o "$OUT/engine_tensorrt.plan" --overwrite && ENGINES+=("$OUT/engine_tensorrt.plan")
    else
      skip build-tensorrt "full TensorRT (tensorrt module) is not installed"
    fi
    if ! py_has tensorrt_rtx && ! py_has tensorrt && [ "$TRY_RTX" = 1 ]; then
      echo "=== installing tensorrt-rtx-cu13 to try TensorRT-RTX on this GPU"
      "$PY" -m pip install -q tensorrt-rtx-cu13 >"$OUT/logs/pip-rtx.log" 2>&1 || true
    fi
    if py_has tensorrt_rtx; then
      # The GPU's own target where TensorRT-RTX has it (it has none for sm_90/sm_100: recorded).
      # This GPU's own target where TensorRT-RTX has it; else (sm_90, sm_100: data-centre GPUs it
      # does not target) the default targets, and the report records whether its runtime accepts
      # this GPU anyway: that refusal is a finding, not a failure.
      RTX_SM=$("$PY" -c "import sys; from stmfnet_trt.engine.request import RTX_TARGETS as t
sm = int(sys.argv[1] or 0); print(sm if sm in t else '86,89')" "$SM")
      stage build-rtx bash -c "${CLI[*]} build '$ONNX' --target rtx --sm $RTX_SM --shapes '$SHAPES' \
        -o '$OUT/engine_rtx.plan' --overwrite && $PY - '$OUT/engine_rtx.plan' '$RTX_SM' '$SM' <<'EOF'
import sys, tensorrt_rtx as trt
from stmfnet_trt.plugins import load_trt_plugin
load_trt_plugin(trt)
engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(open(sys.argv[1], 'rb').read())
accepted = engine is not None and engine.create_execution_context() is not None
targeted = sys.argv[2] == sys.argv[3]
print(f'TensorRT-RTX runtime on this GPU (sm_{sys.argv[3] or \"?\"}, engine for {sys.argv[2]}):',
      'accepts the engine' if accepted else 'refuses the engine')
sys.exit(0 if accepted or not targeted else 3)
EOF" && tail -n 1 "$OUT/logs/build-rtx.log" | grep -q "accepts the engine" && ENGINES+=("$OUT/engine_rtx.plan")
    else
      skip build-rtx "tensorrt_rtx is not installed (TRY_RTX=1 installs tensorrt-rtx-cu13)"
    fi
    for factor in 2 4 8; do
      if [ ${#ENGINES[@]} = 0 ]; then
        skip "run-x$factor" "no engine that runs on this GPU was built"
        continue
      fi
      stage "run-x$factor" bash -c "set -e
        ${CLI[*]} run '$CLIP' -o '$OUT/x${factor}_ort' --factor $factor --backend onnxruntime --onnx '$ONNX' --overwrite -q
        for engine in ${ENGINES[*]}; do
          name=\$(basename \"\$engine\" .plan)
          ${CLI[*]} run '$CLIP' -o '$OUT/x${factor}_'\$name --factor $factor --backend tensorrt --engine \"\$engine\" --overwrite -q
          $PY - '$OUT/x${factor}_ort' '$OUT/x${factor}_'\$name <<'EOF'
import sys
from pathlib import Path
import numpy as np
from PIL import Image
ours, theirs = (sorted(Path(folder).glob('*.png')) for folder in sys.argv[1:3])
assert ours and len(ours) == len(theirs), (len(ours), len(theirs))
worst = max(np.abs(np.asarray(Image.open(a), np.int16) - np.asarray(Image.open(b), np.int16)).max() for a, b in zip(ours, theirs))
print(f'{sys.argv[2]}: {len(ours)} frames, largest difference from ONNX Runtime {worst}/255')
sys.exit(0 if worst <= 2 else 4)
EOF
        done"
    done
    if [ ${#ENGINES[@]} = 0 ]; then
      skip gate "no engine that runs on this GPU was built"
      skip bench "no engine that runs on this GPU was built"
    else
      target=$([[ "${ENGINES[0]}" == *rtx* ]] && echo rtx || echo tensorrt)
      stage gate "${CLI[@]}" build "$ONNX" --target "$target" --precision fp16 --shapes "$SHAPES" \
        --accept-quality-loss -o "$OUT/engine_fp16.plan" --overwrite
      stage bench "${CLI[@]}" bench --backends blend --engines "${ENGINES[@]}" --layers --sizes 256 540p \
        --json "$OUT/bench.json"
    fi
  fi
  if wants tests; then
    stage tests "$PY" -m pytest -q -m "gpu or tensorrt" -p no:cacheprovider tests
  fi
fi

# ---------------------------------------------------------------------------------------- report
{
  echo "# stmfnet-trt: first GPU run"
  echo
  echo "GPU: ${GPU_NAME:-none}. Failed stages: $failures. Logs: $OUT/logs/."
  echo
  echo "| stage | status | seconds | detail |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  for name in "${details[@]}"; do
    echo
    echo "## $name"
    echo
    echo '```'
    tail -n 60 "$OUT/logs/$name.log"
    echo '```'
  done
} >"$REPORT"
echo "report: $REPORT ($failures failed)"
exit "$failures"
