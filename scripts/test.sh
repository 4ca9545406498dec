#!/usr/bin/env bash
# Sets up, builds and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir "${BUILD_DIR:-build}" -j "${JOBS:-$(nproc)}" --output-on-failure

# Memory and undefined-behaviour errors: the world and expert layers, which parse every file
# a user hands us (episodes, GLB, .navmesh, YAML; the corruption tests feed them thousands of
# broken ones), built again under AddressSanitizer + UBSan. Their CLI tests need the
# sanitised binary and are left to the main build.
asan=${ASAN_BUILD_DIR:-build-asan}
flags="-fsanitize=address,undefined -fno-omit-frame-pointer"
[[ -f $asan/build.ninja ]] ||
  cmake -S . -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$asan" -j "${JOBS:-$(nproc)}" --target sim_tests expert_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
"$asan"/tests/sim_tests --gtest_brief=1
"$asan"/tests/expert_tests --gtest_brief=1 --gtest_filter='-ExpertCommandTest.*'
echo "sanitizers: sim and expert tests clean under ASan + UBSan"
