#!/usr/bin/env bash
# Sets up, builds and runs the main job on the built-in procedural world.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh streamvln  # the binary alone: tests and benches are built by scripts/test.sh
exec "${BUILD_DIR:-build}/streamvln" demo --out "${DEMO_DIR:-runs/demo}" "$@"
