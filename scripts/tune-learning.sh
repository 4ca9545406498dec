#!/usr/bin/env bash
# Try a change to the method's recipe on the tuning seeds, never on the seeds the published
# table reports (docs/results.md: seeds 0-4 report, 5-9 tune):
#
#   scripts/tune-learning.sh NAME [bench-learning flags...]
#
# Trains the hybrid with the given flags from each tuning seed's SFT base and prints one row:
# NAME, then base -> method SR per seed, the mean gain and how many seeds gained >= 0.10.
# The data, bases and base evaluations are those of the row `default` (the recipe as it is,
# trained first when missing), copied into $TUNE_DIR/NAME (default runs/tune/NAME), so every
# row starts from the same bases.
# A finished evaluation is reused, so an interrupted row continues.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/tune-learning.sh NAME [bench-learning flags...]}
shift
# SVLN_BIN: a binary to use as it is (a snapshot, so that builds of a working tree that others
# are editing cannot change it halfway through a row); otherwise build/streamvln, built first.
if [[ -n ${SVLN_BIN:-} ]]; then
  bin=$SVLN_BIN
else
  scripts/setup.sh streamvln >/dev/null
  bin=${BUILD_DIR:-build}/streamvln
fi
dir=${TUNE_DIR:-runs/tune}
first=${TUNE_FIRST_SEED:-5}
seeds=${TUNE_SEEDS:-5}
args=(bench-learning --seeds "$seeds" --seed "$first")

# The bases come from the default recipe's row, trained first when it is missing. Flags that
# change the data or the base (--task, --scenes, --sft_*, --model_size...) need their own
# TUNE_DIR.
if [[ $name != default && ! -f "$dir/default/results.json" ]]; then
  "$0" default
fi
out="$dir/$name"
mkdir -p "$out"
for ((s = first; s < first + seeds; ++s)); do
  [[ $name == default ]] && break
  mkdir -p "$out/seed-$s"
  for f in data init base eval_base.json; do
    [[ -e "$out/seed-$s/$f" ]] || cp -r "$dir/default/seed-$s/$f" "$out/seed-$s/"
  done
done
"$bin" "${args[@]}" --variants hybrid --out "$out" "$@" >"$out/log.txt" 2>&1 ||
  { echo "tune-learning: $name failed (see $out/log.txt)"; exit 1; }
python3 - "$out/results.json" "$name" "$*" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
base = j["variants"]["base"]["success_rate"]["per_seed"]
hyb = j["variants"]["hybrid"]["success_rate"]["per_seed"]
gains = [h - b for b, h in zip(base, hyb)]
cells = " / ".join(f"{b:.3f}->{h:.3f}" for b, h in zip(base, hyb))
won = sum(g >= 0.10 - 1e-9 for g in gains)
print(f"| {sys.argv[2]} | `{sys.argv[3]}` | {cells} | {sum(gains) / len(gains):+.3f} | {won} of {len(gains)} |")
EOF
