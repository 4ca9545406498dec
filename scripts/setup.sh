#!/usr/bin/env bash
# Installs the Debian packages the project needs (when missing), then configures and
# builds into build/ (override with BUILD_DIR). Safe to run again: it only does what is due.
#
#   scripts/setup.sh [TARGET ...]    (default: everything; the demo builds `streamvln` only)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  libembree-dev librecast-dev libtinygltf-dev libstb-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libyaml-cpp-dev zlib1g-dev
  libgtest-dev libgmock-dev libicu-dev libgloo-dev
  libcurl4-openssl-dev  # live W&B upload (optional: without it runs are written offline)
  ffmpeg chromium  # episode videos (MP4); report.html browser test
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Object files are cached by ccache; a base dir makes fresh clones of the tree hit the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j "$JOBS" "${targets[@]}"
