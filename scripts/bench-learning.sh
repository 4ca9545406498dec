#!/usr/bin/env bash
# Does training make agents better, on every seed? Sets up, builds, runs
# `streamvln bench-learning` (the demo's pipeline for N seeds: SFT base vs hybrid GRPO+SFT
# vs continued SFT, --disable_recovery and pure GRPO) and publishes its table and plot into
# docs/results.md (between the bench-learning markers) and docs/img/bench-learning.png.
#
#   scripts/bench-learning.sh [bench-learning flags]     (default: 5 seeds, runs/bench-learning)
#
# Finished evaluations in the run folder are reused, so an interrupted run continues.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh streamvln >/dev/null
OUT="${BENCH_DIR:-runs/bench-learning}"
"${BUILD_DIR:-build}/streamvln" bench-learning --out "$OUT" "$@"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no -- . ':!docs' 2>/dev/null | grep -q . && echo " + local changes" || true)
block=$(mktemp)
{
  echo "<!-- bench-learning:begin (written by scripts/bench-learning.sh; do not edit) -->"
  echo "Measured on commit \`$commit\`$dirty, $(date -u +%Y-%m-%d), with"
  echo "\`scripts/bench-learning.sh $*\` (2-core CPU)."
  echo
  cat "$OUT/results.md"
  echo
  echo "![greedy SR per variant, one dot per seed](img/bench-learning.png)"
  echo "<!-- bench-learning:end -->"
} >"$block"
mkdir -p docs/img
cp "$OUT/results.png" docs/img/bench-learning.png
python3 - "$block" <<'EOF'
import re, sys
block = open(sys.argv[1]).read().rstrip("\n")
path = "docs/results.md"
text = open(path).read()
pat = re.compile(r"<!-- bench-learning:begin.*?<!-- bench-learning:end -->", re.S)
if not pat.search(text):
    sys.exit(f"{path}: no bench-learning markers")
tmp = path + ".tmp"
open(tmp, "w").write(pat.sub(lambda m: block, text))
import os
os.replace(tmp, path)
EOF
rm -f "$block"
echo "bench-learning: docs/results.md and docs/img/bench-learning.png updated"
