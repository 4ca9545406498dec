#!/usr/bin/env bash
# Regenerates the synthetic tokenizer fixture (tokenizer.json, tokenizer_config.json,
# special_tokens_map.json); tokenizer_golden.json comes from ../vision/make_golden.py run
# on the GPU machine against these files. Usage: make_tokenizer.sh [path/to/streamvln]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"${1:-build/streamvln}" tokenize --write-synthetic "$here" --vocab-size 1024 --seed 0
