#!/usr/bin/env bash
# The test command: installs what is missing, runs `bazel test //...`, and prints a plain
# "N passed, N failed" line counted from Bazel's per-test results. Exit code: 0 iff all passed.
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh || { echo "setup failed" >&2; exit 1; }

log=$(mktemp)
config_flags=()
if [ "${CI:-}" = "true" ]; then config_flags=(--config=ci); fi

bazel test "${config_flags[@]}" --nocache_test_results //... "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

passed=$(grep -cE '^//\S+ +(\(cached\) )?PASSED' "$log" || true)
failed=$(grep -cE '^//\S+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE|FAILED TO BUILD)' "$log" || true)
rm -f "$log"

if [ "${CI:-}" = "true" ]; then bazel shutdown >/dev/null 2>&1 || true; fi

if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the build itself failed: no test could run
  echo "bazel test exited with $rc before running tests" >&2
fi
echo "${passed} passed, ${failed} failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
