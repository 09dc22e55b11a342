#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang + ASan/UBSan and runs each for a fixed number
# of executions, starting from its seed corpus (fuzz/corpus/<target>/, never written to).
#
# Usage: tools/fuzz.sh [--runs=N] [--jobs=J] [TARGET...]
#   TARGET    e.g. arc_task_fuzzer (default: every target in fuzz/BUILD's :fuzzers)
#   --runs=N  executions per target (default 200000)
# Output per target: executions, new corpus entries, findings (crash-/leak-/timeout-/oom-
# files, kept under $JEPALAB_FUZZ_DIR/<target>/, default /tmp/jepalab-fuzz). Exit 1 if any.
# Builds in a separate Bazel output base so the gcc build's cache stays untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=200000
TARGETS=()
for arg in "$@"; do
  case "$arg" in
    --runs=*) RUNS="${arg#--runs=}" ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown flag $arg" >&2; exit 2 ;;
    *) TARGETS+=("$arg") ;;
  esac
done
if ((${#TARGETS[@]} == 0)); then
  TARGETS=(arc_task_fuzzer manifest_fuzzer metrics_batch_fuzzer plan_fuzzer
           trainer_config_fuzzer worker_events_fuzzer)
fi

# Fuzzing only (CI does not need these): clang, its sanitizer/libFuzzer runtimes, lld.
FUZZ_PACKAGES=(clang libclang-rt-14-dev lld)
missing=()
for pkg in "${FUZZ_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "fuzz.sh: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

OUTPUT_BASE="${JEPALAB_FUZZ_OUTPUT_BASE:-$HOME/.cache/bazel-fuzz/$(pwd | sha256sum | cut -c1-16)}"
WORK="${JEPALAB_FUZZ_DIR:-/tmp/jepalab-fuzz}"
BAZEL=(bazel --output_base="$OUTPUT_BASE")
# --symlink_prefix=/: no bazel-* links, so the gcc build's bazel-bin stays as it was.
"${BAZEL[@]}" build --config=fuzz --symlink_prefix=/ "${TARGETS[@]/#///fuzz:}"
BIN="$("${BAZEL[@]}" info --config=fuzz bazel-bin 2>/dev/null)/fuzz"

status=0
printf '%-24s %12s %8s %9s %s\n' target executions "new cov" findings "artifacts" >&2
for target in "${TARGETS[@]}"; do
  dir="$WORK/$target"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  log="$dir/fuzz.log"
  # New inputs go to $dir/corpus (first dir); the seed corpus is only read.
  set +e
  "$BIN/$target" -runs="$RUNS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
    "$dir/corpus" "fuzz/corpus/$target" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [ -z "$execs" ] && execs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo "?")
  found=$(find "$dir/artifacts" -type f | wc -l)
  new=$(find "$dir/corpus" -type f | wc -l)
  printf '%-24s %12s %8s %9s %s\n' "$target" "$execs" "$new" "$found" \
    "$( ((found)) && echo "$dir/artifacts (log $log)" || echo -)" >&2
  if ((rc != 0 || found > 0)); then
    status=1
    grep -m3 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|FUZZ_CHECK' "$log" >&2 || true
  fi
done
exit $status
