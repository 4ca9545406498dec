#!/usr/bin/env bash
# The spec's four training scenarios (shared/spec/trainer-flags.md, "Scenarios"), scaled
# down for CPU: the same flags with num_updates divided by SCALE (default 50), on the data
# and base policy of a demo run, each evaluated greedily on val_unseen afterwards.
#
#   scripts/scenarios.sh [DEMO_DIR]      (default runs/demo; run scripts/demo.sh first)
#
# Writes DEMO_DIR/scenarios/<name>/ (training outputs + eval.json) and prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO="${1:-runs/demo}"
BIN="${BUILD_DIR:-build}/streamvln"
SCALE="${SCALE:-50}"
EVAL_EPISODES="${EVAL_EPISODES:-24}"
DATA="$DEMO/data/config.yaml"
BASE="$DEMO/base"
for f in "$DATA" "$BASE/config.json"; do
  [[ -e "$f" ]] || { echo "scenarios.sh: $f: missing (run scripts/demo.sh first)" >&2; exit 1; }
done
OUT="$DEMO/scenarios"
mkdir -p "$OUT"

# The demo's CPU settings shared by all four (model, phase, episode cap, thresholds sized
# to the apartments); everything the scenarios name comes after and wins.
common=(--model_path "$BASE" --habitat_config_path "$DATA" --phase phase1_stop
        --learning_rate 3e-4 --max_episode_steps 100 --num_threads 2 --lora_r 16 --lora_alpha 32
        --offtrack_dist_thresh 1.5 --offtrack_patience 4 --recovery_dist_thresh 1.0
        --mini_batch_size 8)
u() { echo $(( ($1 + SCALE - 1) / SCALE )); }

declare -A args
args[quick]="--num_updates $(u 100) --num_episodes_per_update 1 --group_size 1"
args[standard]="--num_updates $(u 500) --group_size 2 --use_hybrid_training --sft_loss_start_weight 1.0 --sft_loss_end_weight 0.9 --sft_loss_decay_updates $(u 500)"
args[full]="--num_updates $(u 1000) --num_episodes_per_update 2 --group_size 2 --use_hybrid_training --sft_loss_start_weight 1.5 --sft_loss_end_weight 0.8 --sft_loss_decay_updates $(u 1000)"
args[ablation]="--num_updates $(u 500) --group_size 2 --disable_recovery --use_hybrid_training --sft_loss_decay_updates $(u 500)"

"$BIN" eval --model_path "$BASE" --habitat_config_path "$DATA" --split val_unseen \
  --max_episodes "$EVAL_EPISODES" --out "$OUT/eval_base.json" > "$OUT/eval_base.log" 2>&1
for name in quick standard full ablation; do
  rm -rf "$OUT/$name"
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$BIN" train "${common[@]}" ${args[$name]} --output_path "$OUT/$name" > "$OUT/$name.log" 2>&1
  "$BIN" eval --model_path "$BASE" --adapter "$OUT/$name/$(cat "$OUT/$name/latest")" --habitat_config_path "$DATA" \
    --split val_unseen --max_episodes "$EVAL_EPISODES" --out "$OUT/$name/eval.json" >> "$OUT/$name.log" 2>&1
  echo "$(( $(date +%s) - start ))" > "$OUT/$name/seconds"
done

python3 - "$OUT" <<'EOF'
import json, sys, os
out = sys.argv[1]
rows = [("base (no training)", os.path.join(out, "eval_base.json"), None)]
for n in ["quick", "standard", "full", "ablation"]:
    rows.append((n, os.path.join(out, n, "eval.json"), os.path.join(out, n, "seconds")))
print("| scenario | SR | SPL | NE (m) | OSR | nDTW | len | train+eval s |")
print("|---|---|---|---|---|---|---|---|")
for name, path, secs in rows:
    j = json.load(open(path))
    s = open(secs).read().strip() if secs else ""
    print(f"| {name} | {j['success_rate']:.3f} | {j['spl']:.3f} | {j['navigation_error']:.2f} | "
          f"{j['oracle_success_rate']:.3f} | {j['ndtw']:.3f} | {j['avg_episode_length']:.1f} | {s} |")
EOF
