#!/usr/bin/env bash
# The test command: installs what is missing, runs `bazel test //...`, and prints
# "N passed, N failed, N skipped": test targets that passed and failed (from Bazel's per-test
# results) and test cases that skipped (GTEST_SKIP, from each target's test.xml), naming the
# skipped ones. Exit code: 0 iff all passed.
#
# Where ../shared (the reference's golden vectors and ARC data) is beside the checkout, as in CI,
# the tests run with JEPALAB_REQUIRE_SHARED=1: a fidelity test that cannot read its data fails
# rather than skipping.
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh || { echo "setup failed" >&2; exit 1; }

# Checks over the source tree that Bazel's sandbox cannot see whole: include boundaries and
# clang-format.
checks_failed=0
python3 tools/check_layering.py || checks_failed=1
tools/check_format.sh || checks_failed=1

log=$(mktemp)
started=$(mktemp)  # test.xml files newer than this one belong to this run
config_flags=()
if [ "${CI:-}" = "true" ]; then config_flags=(--config=ci); fi
if [ -d ../shared ]; then
  config_flags+=(--test_env=JEPALAB_REQUIRE_SHARED=1)
  echo "test: ../shared found: tests that need it fail instead of skipping" >&2
else
  echo "test: ../shared not found: golden-vector and real-ARC tests will skip" >&2
fi

bazel test "${config_flags[@]}" --nocache_test_results //... "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

passed=$(grep -cE '^//\S+ +(\(cached\) )?PASSED' "$log" || true)
failed=$(grep -cE '^//\S+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE|FAILED TO BUILD)' "$log" || true)

# gtest writes <testcase ... result="skipped" ...> for each skipped case.
skipped_cases=$(find -L bazel-testlogs/ -name test.xml -newer "$started" -print0 2>/dev/null |
  xargs -0 -r python3 tools/skipped_tests.py)
skipped=$(printf '%s' "$skipped_cases" | grep -c . || true)
rm -f "$log" "$started"

if [ "${CI:-}" = "true" ]; then bazel shutdown >/dev/null 2>&1 || true; fi

if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the build itself failed: no test could run
  echo "bazel test exited with $rc before running tests" >&2
fi
if [ "$checks_failed" -ne 0 ]; then
  failed=$((failed + 1))
  echo "source checks failed (see above)" >&2
fi
if [ "$skipped" -gt 0 ]; then
  echo "skipped:"
  printf '%s\n' "$skipped_cases" | sed 's/^/  /'
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
