#!/usr/bin/env bash
# Builds the project on the GPU machine against the PyTorch wheel's CUDA libtorch and runs
# one command with the right library path, so every GPU measurement is one command:
#
#   scripts/gpu-build.sh [TARGET...] [-- COMMAND ARGS...]
#   scripts/gpu-build.sh model_bench -- build/bench/model_bench --config 7b --device cuda
#
# Needs the Debian 12 packages in .devdeps/ (carry it; docs/benchmarks.md lists them):
# they are unpacked into a private prefix (never into /). Environment overrides:
# SVLN_BUILD_DIR (default build), SVLN_DEPS_PREFIX (default /tmp/svln-deps), SVLN_JOBS,
# SVLN_PREBUILT (1: skip the build, only run the command), SVLN_NCCL (1, the default:
# ProcessGroupNCCL against the wheel's NCCL when it ships one;
# 0: without NCCL).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps=${SVLN_DEPS_PREFIX:-/tmp/svln-deps}
build=${SVLN_BUILD_DIR:-$root/build}
jobs=${SVLN_JOBS:-16}

targets=()
while [[ $# -gt 0 && $1 != -- ]]; do targets+=("$1"); shift; done
[[ $# -gt 0 ]] && shift  # the --

shopt -s nullglob
debs=("$root"/.devdeps/*.deb)
[[ ${#debs[@]} -gt 0 ]] || { echo "error: $root/.devdeps: no .deb files (carry .devdeps)" >&2; exit 1; }
# Unpack again whenever the set of packages changed since the last unpack.
listing=$(printf '%s\n' "${debs[@]##*/}")
if [[ ! -f $deps/.unpacked || $(cat "$deps/.unpacked") != "$listing" ]]; then
  mkdir -p "$deps"
  for f in "${debs[@]}"; do dpkg -x "$f" "$deps"; done
  printf '%s' "$listing" > "$deps/.unpacked"
fi
libdir=$deps/usr/lib/x86_64-linux-gnu
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')

# The wheel's NCCL (the nvidia-nccl package beside torch) for ProcessGroupNCCL.
nccl_root=
if [[ ${SVLN_NCCL:-1} != 0 ]]; then
  nccl_root=$(python3 -c 'import nvidia.nccl as m; print(list(m.__path__)[0])' 2>/dev/null || true)
  [[ -f $nccl_root/include/nccl.h ]] || { echo "gpu-build: no NCCL headers beside the wheel; building without NCCL" >&2; nccl_root=; }
fi

# The wheel's include folder carries fmt 12 headers, which Debian's spdlog 1.10 cannot use:
# an -I folder (searched before every -isystem one) that holds only Debian's fmt 9 wins.
mkdir -p "$deps/fmt9/include"
ln -sfn "$deps/usr/include/fmt" "$deps/fmt9/include/fmt"

# Also needed while building: gtest_discover_tests runs the test programs.
export LD_LIBRARY_PATH=$libdir:$torch_lib${nccl_root:+:$nccl_root/lib}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# -lstdc++ first: the wheel's libtorch carries its own std::filesystem symbols, and
# resolving them there makes std::filesystem::remove_all crash (docs/benchmarks.md).
# SVLN_PREBUILT=1: a binary built by an earlier call is at hand (carried); only run.
if [[ ${SVLN_PREBUILT:-0} == 1 ]]; then
  [[ $# -gt 0 ]] && exec "$@"
  exit 0
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr" \
    -DCMAKE_CXX_FLAGS="-I$deps/fmt9/include" \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,--no-as-needed -lstdc++" \
    -DTORCH_CUDA_ARCH_LIST=9.0 -DSVLN_NCCL_ROOT="$nccl_root" >&2
if [[ ${#targets[@]} -gt 0 ]]; then
  cmake --build "$build" -j"$jobs" --target "${targets[@]}" >&2
else
  cmake --build "$build" -j"$jobs" >&2
fi

[[ $# -gt 0 ]] && exec "$@"
exit 0
