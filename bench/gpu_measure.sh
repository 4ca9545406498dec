#!/usr/bin/env bash
# The GPU measurements of docs/benchmarks.md as one command per device call (issue #6):
#
#   bench/gpu_measure.sh rollout   # 7B rollouts at 1/8/32/64 envs + the no-KV baseline,
#                                  # then a compile check of ProcessGroupNCCL
#   bench/gpu_measure.sh model     # decode cost diagnosis (small model, cuDNN on/off), then
#                                  # 7B prefill / decode / slot-cache decode / LoRA training
#                                  # at several checkpointing settings / vision tower
#   bench/gpu_measure.sh final     # the rollout figures again, then LoRA training with
#                                  # 24 of 28 layers checkpointed
#   bench/gpu_measure.sh profile   # where the time goes: 7B slot-cache decoding at B=64,
#                                  # LoRA training (trainer defaults) at all / 14 / 0
#                                  # checkpointed layers, the vision tower's halves, and a
#                                  # 64-env rollout with phase timings; Kineto traces of
#                                  # each, gzipped into $OUT
#
# Builds with scripts/gpu-build.sh (carry .devdeps). The benches are built without NCCL;
# if src/rl does not compile against the wheel, it retries without src/rl/distributed.cpp
# (the benches do not use it) and says so. Output on stdout; logs under $OUT when set.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:?usage: bench/gpu_measure.sh rollout|model|final|profile}
logs=${OUT:-/tmp}

export SVLN_MEASURE_START=${SVLN_MEASURE_START:-$(date +%s)}
# Seconds left of a 600 s device command, less a reserve.
left() { echo $(( ${SVLN_MEASURE_BUDGET:-570} - ($(date +%s) - SVLN_MEASURE_START) - $1 )); }

if [[ ${2:-} == --inner ]]; then
  exec 2>&1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  case $mode in
    rollout|final)
      timeout "$(left $([[ $mode == final ]] && echo 150 || echo 60))" build/bench/rollout_bench \
        --config 7b --device cuda --envs 1,8,32,64 --max_steps 48 --threads 16 \
        --baseline_episodes 2 --allow_stop 0 --sdpa_cudnn 0
      echo "rollout_bench exit $?"
      if [[ $mode == final ]]; then
        timeout "$(left 0)" build/bench/model_bench --config 7b --device cuda \
          --skip prefill,decode,slot_decode,vision --train_steps 2 --ckpt_layers 24 \
          --sdpa_cudnn 0
        echo "model_bench exit $?"
      fi ;;
    profile)
      timeout "$(left 200)" build/bench/model_bench --config 7b --device cuda \
        --skip prefill,decode --batches 64 --decode_steps 8 --train_steps 2 \
        --ckpt_layers -1,14,0 --frames 32 --sdpa_cudnn 0 --profile "$logs"
      echo "model_bench exit $?"
      timeout "$(left 10)" build/bench/rollout_bench --config 7b --device cuda --envs 64 \
        --max_steps 48 --threads 16 --baseline_episodes 0 --allow_stop 0 --sdpa_cudnn 0 \
        --profile "$logs" --profile_steps 8,10
      echo "rollout_bench exit $?"
      gzip -f "$logs"/*.json 2>/dev/null ;;
    model)
      for c in 1 0; do
        timeout 60 build/bench/model_bench --config small --device cuda \
          --skip prefill,train,vision --batches 1,64 --sdpa_cudnn $c
      done
      timeout "$(left 0)" build/bench/model_bench --config 7b --device cuda --batches 1,8,32,64 \
        --decode_steps 16 --train_steps 3 --ckpt_layers -1,14,0 --sdpa_cudnn 0 \
        --profile "$logs"
      echo "model_bench exit $?" ;;
  esac
  exit 0
fi

t0=$(date +%s)
if ! SVLN_NCCL=0 scripts/gpu-build.sh rollout_bench model_bench >"$logs/build.log" 2>&1; then
  grep -m5 -B2 -A8 "error" "$logs/build.log"
  echo "gpu_measure: build failed; retrying without src/rl/distributed.cpp"
  rm -f src/rl/distributed.cpp
  SVLN_NCCL=0 scripts/gpu-build.sh rollout_bench model_bench >>"$logs/build.log" 2>&1 ||
    { tail -40 "$logs/build.log"; exit 1; }
fi
echo "gpu_measure: built in $(( $(date +%s) - t0 )) s"
SVLN_NCCL=0 scripts/gpu-build.sh rollout_bench model_bench -- "$0" "$mode" --inner 2>>"$logs/build.log"

if [[ $mode == rollout && ${SVLN_MEASURE_NCCL:-1} != 0 && -f src/rl/distributed.cpp ]]; then
  t0=$(date +%s)
  if SVLN_NCCL=1 scripts/gpu-build.sh svln_rl >"$logs/nccl.log" 2>&1 &&
     grep -q "ProcessGroupNCCL with" "$logs/nccl.log"; then
    echo "gpu_measure: svln_rl with ProcessGroupNCCL compiled ($(( $(date +%s) - t0 )) s): $(grep -m1 'ProcessGroupNCCL with' "$logs/nccl.log")"
  else
    echo "gpu_measure: NCCL build failed or no NCCL found:"
    grep -m3 -A6 "error\|no NCCL" "$logs/nccl.log"
  fi
fi
