#!/usr/bin/env bash
# The GPU measurements of docs/benchmarks.md as one command per device call (issue #6):
#
#   bench/gpu_measure.sh rollout   # 7B rollouts at 1/8/32/64 envs + the no-KV baseline,
#                                  # then a compile check of ProcessGroupNCCL
#   bench/gpu_measure.sh model     # decode cost diagnosis (small model, cuDNN on/off), then
#                                  # 7B prefill / decode / slot-cache decode / LoRA training
#                                  # at several checkpointing settings / vision tower
#   bench/gpu_measure.sh final     # the rollout figures again, then slot-cache decoding,
#                                  # LoRA training (all / no layers checkpointed) and the
#                                  # vision tower
#   bench/gpu_measure.sh profile   # where the time goes: 7B slot-cache decoding at B=64,
#                                  # LoRA training (trainer defaults) at all / 14 / 0
#                                  # checkpointed layers, the vision tower's halves, and a
#                                  # 64-env rollout with phase timings; Kineto traces of
#                                  # each, gzipped into $OUT
#   bench/gpu_measure.sh update    # seconds per update of the trainer's loop for the
#                                  # standard scenario at 7B with 100-step trajectories
#                                  # (bench/update_bench.cpp: STOP masked so they walk)
#   bench/gpu_measure.sh standard  # `streamvln train` of the spec's "standard" scenario with
#                                  # a random-weight 7B StreamVLN on the GPU: seconds per
#                                  # update (rollout + optimisation) from metrics.jsonl; with
#                                  # 2 GPUs visible also on both through `streamvln launch`
#                                  # (NCCL), and whether the ranks end with the same adapter
#
# Builds with scripts/gpu-build.sh (carry .devdeps). The benches are built without NCCL;
# if src/rl does not compile against the wheel, it retries without src/rl/distributed.cpp
# (the benches do not use it) and says so. Output on stdout; logs under $OUT when set.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:?usage: bench/gpu_measure.sh rollout|model|final|profile|standard|update}
logs=${OUT:-/tmp}

export SVLN_MEASURE_START=${SVLN_MEASURE_START:-$(date +%s)}
# Seconds left of a 600 s device command, less a reserve.
left() { echo $(( ${SVLN_MEASURE_BUDGET:-570} - ($(date +%s) - SVLN_MEASURE_START) - $1 )); }

if [[ ${2:-} == --inner ]]; then
  exec 2>&1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  case $mode in
    rollout|final)
      timeout "$(left $([[ $mode == final ]] && echo 120 || echo 60))" build/bench/rollout_bench \
        --config 7b --device cuda --envs 1,8,32,64 --max_steps 48 --threads 16 \
        --baseline_episodes 2 --allow_stop 0 --sdpa_cudnn 0
      echo "rollout_bench exit $?"
      if [[ $mode == final ]]; then
        timeout "$(left 0)" build/bench/model_bench --config 7b --device cuda \
          --skip prefill,decode --batches 1,64 --decode_steps 16 --train_steps 2 \
          --ckpt_layers -1,0 --frames 32 --sdpa_cudnn 0
        echo "model_bench exit $?"
      fi ;;
    standard)
      d=/tmp/svln_standard
      rm -rf "$d"; mkdir -p "$d"
      build/streamvln gen-data --out "$d/data" --scenes 8 --episodes-per-scene 10 --seed 0 \
        --sensor-size 224 >"$logs/gen.log" 2>&1 || { tail "$logs/gen.log"; exit 1; }
      t0=$(date +%s)
      build/streamvln model init --streamvln --config 7b --out "$d/model" --dtype bfloat16 \
        --device cuda || exit 1
      echo "standard: 7B checkpoint written in $(( $(date +%s) - t0 )) s ($(du -sh "$d/model" | cut -f1))"
      # A random-weight policy samples STOP within a few steps; a short SFT warm start on
      # expert demonstrations (how StreamVLN's RL starts, from an SFT model) makes it walk.
      base=$d/model
      if [[ ${SVLN_STD_SFT:-6} -gt 0 ]]; then
        t0=$(date +%s)
        if build/streamvln sft --model_path "$d/model" --habitat_config_path "$d/data/config.yaml" \
             --output_path "$d/sft" --num_updates "${SVLN_STD_SFT:-6}" --episodes_per_update 4 \
             --learning_rate 1e-3 --max_episode_steps 120 --device cuda >"$logs/sft.log" 2>&1; then
          base=$d/sft
          echo "standard: SFT warm start (${SVLN_STD_SFT:-6} x 4 demonstrations) in $(( $(date +%s) - t0 )) s"
        else
          echo "standard: SFT warm start failed; training the random model"
        fi
        tail -2 "$logs/sft.log"
      fi
      # The spec's standard scenario (trainer-flags.md): group 2, hybrid, SFT 1.0 -> 0.9.
      std=(--model_path "$base" --habitat_config_path "$d/data/config.yaml"
           --group_size 2 --use_hybrid_training --sft_loss_start_weight 1.0
           --sft_loss_end_weight 0.9 --sft_loss_decay_updates 500 --save_every 1000
           --num_updates "${SVLN_STD_UPDATES:-3}" --max_episode_steps 120 --device cuda)
      t0=$(date +%s)
      CUDA_VISIBLE_DEVICES=0 timeout "$(left 200)" build/streamvln train "${std[@]}" \
        --output_path "$d/gpu1" >"$logs/train_gpu1.log" 2>&1
      echo "standard, 1 GPU: exit $? in $(( $(date +%s) - t0 )) s"
      tail -4 "$logs/train_gpu1.log"
      cp "$d/gpu1/metrics.jsonl" "$logs/metrics_gpu1.jsonl" 2>/dev/null
      if [[ $(nvidia-smi -L | wc -l) -ge 2 ]]; then
        t0=$(date +%s)
        NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 \
          timeout "$(left 20)" build/streamvln launch --nproc_per_node 2 -- train "${std[@]}" \
          --num_episodes_per_update 2 --output_path "$d/gpu2" >"$logs/train_gpu2.log" 2>&1
        echo "standard, 2 GPUs (2 episodes x group 2 per update): exit $? in $(( $(date +%s) - t0 )) s"
        grep -h "fingerprint" "$logs/train_gpu2.log" "$d"/gpu2/*.log 2>/dev/null | tail -2
        tail -4 "$logs/train_gpu2.log"
        cp "$d/gpu2/metrics.jsonl" "$logs/metrics_gpu2.jsonl" 2>/dev/null
      fi
      python3 - "$logs" <<'PY'
import json, sys, os
for name in ["metrics_gpu1.jsonl", "metrics_gpu2.jsonl"]:
    p = os.path.join(sys.argv[1], name)
    if not os.path.exists(p): continue
    for line in open(p):
        m = json.loads(line)
        print(name, {k: round(m[k], 3) for k in sorted(m) if k in (
            "update", "update_seconds", "rollout_seconds", "avg_episode_length",
            "steps_per_second", "success_rate", "sft_loss", "grpo_loss")})
PY
      ;;
    update)
      timeout "$(left 10)" build/bench/update_bench --config 7b --device cuda --updates 4 \
        --episodes 1 --group_size 2 --max_steps 100 --threads 16
      echo "update_bench exit $?" ;;
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
targets=(rollout_bench model_bench)
nccl=0
if [[ $mode == standard ]]; then targets=(streamvln); nccl=1; fi
if [[ $mode == update ]]; then targets=(update_bench); fi
if ! SVLN_NCCL=$nccl scripts/gpu-build.sh "${targets[@]}" >"$logs/build.log" 2>&1; then
  grep -m5 -B2 -A8 "error" "$logs/build.log"
  [[ $mode == standard ]] && exit 1
  echo "gpu_measure: build failed; retrying without src/rl/distributed.cpp"
  rm -f src/rl/distributed.cpp
  SVLN_NCCL=0 scripts/gpu-build.sh "${targets[@]}" >>"$logs/build.log" 2>&1 ||
    { tail -40 "$logs/build.log"; exit 1; }
fi
echo "gpu_measure: built in $(( $(date +%s) - t0 )) s"
SVLN_NCCL=$nccl scripts/gpu-build.sh "${targets[@]}" -- "$0" "$mode" --inner 2>>"$logs/build.log"

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
