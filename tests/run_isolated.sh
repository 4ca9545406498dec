#!/usr/bin/env bash
# Runs one test process with its own temporary directory, so tests that ctest runs in
# parallel never share scratch paths (a suite-level fixture in /tmp removed by one process
# while another builds it made tests skip instead of fail).
set -u
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/svln-test.XXXXXX")
export TMPDIR TEST_TMPDIR="$TMPDIR"
"$@"
rc=$?
rm -rf "$TMPDIR"
exit $rc
