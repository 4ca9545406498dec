#!/usr/bin/env bash
# The vision experiment of docs/results.md ("Vision and language matter") on the GPU
# machine, as many seeds as fit in one device call:
#
#   bench/gpu_learning.sh FIRST_SEED SEEDS [BENCH-LEARNING FLAGS...]
#
# Builds streamvln with scripts/gpu-build.sh into build-gpu/ (or, when an earlier call's
# binary was carried there, only runs it), then runs `streamvln bench-learning --seeds
# SEEDS --seed FIRST_SEED` on the choice task with the "small" model on the GPU (the flags below; the
# ones given after SEED are appended and win), stopping before the device call's 600 s.
# Leaves in $OUT: seeds.tgz (the finished evaluations and training curves, to unpack into
# the local bench folder, whose table then reuses them), bench.log, build.log, and
# streamvln (the binary, to carry as build-gpu/streamvln next time).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seed=${1:?usage: bench/gpu_learning.sh FIRST_SEED SEEDS [BENCH-LEARNING FLAGS...]}
seeds=${2:?usage: bench/gpu_learning.sh FIRST_SEED SEEDS [BENCH-LEARNING FLAGS...]}
shift 2
out=${OUT:-/tmp/gpu-learning}
mkdir -p "$out"
start=$(date +%s)
export SVLN_BUILD_DIR=$root/build-gpu SVLN_NCCL=0
[[ -x build-gpu/streamvln ]] && export SVLN_PREBUILT=1
if ! scripts/gpu-build.sh streamvln > "$out/build.log" 2>&1; then
  tail -40 "$out/build.log"
  exit 1
fi
echo "gpu_learning: build ready after $(( $(date +%s) - start )) s (prebuilt: ${SVLN_PREBUILT:-0})"
cp build-gpu/streamvln "$out/streamvln"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader

work=/tmp/gpu-learning-run
left=$(( ${SVLN_BUDGET:-585} - ($(date +%s) - start) ))
t0=$(date +%s)
SVLN_PREBUILT=1 timeout "$left" scripts/gpu-build.sh -- build-gpu/streamvln bench-learning \
    --task choice --model_size small --sensor_size 224 --device cuda --precision fp32 \
    --threads 16 --seeds "$seeds" --seed "$seed" --out "$work" --variants hybrid continued_sft \
    "$@" > "$out/bench.log" 2>&1
rc=$?
echo "gpu_learning: bench-learning rc $rc after $(( $(date +%s) - t0 )) s of GPU run"
tr '\r' '\n' < "$out/bench.log" | grep -a -v -E "scene /tmp|split [a-z_]+: |json.gz: " | tail -30
(cd "$work" && tar czf "$out/seeds.tgz" --ignore-failed-read $(ls -d seed-*/eval_*.json \
    seed-*/*/phase1_stop/metrics.jsonl seed-*/*/phase1_stop/training.log results.* 2>/dev/null))
exit $rc
