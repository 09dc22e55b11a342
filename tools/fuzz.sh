#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang + ASan/UBSan and runs each for a fixed number
# of executions, starting from its seed corpus (fuzz/corpus/<target>/, never written to).
#
# Usage: tools/fuzz.sh [--runs=N] [TARGET...]
#   TARGET    e.g. arc_task_fuzzer (default: all six in fuzz/BUILD)
#   --runs=N  executions per target (default 200000)
# Each target first runs a few hostile probes (100000-deep nesting, alias expansion), then fuzzes.
# Prints per target: executions, the size of its working corpus (kept between runs) and findings
# (crash-/leak-/timeout-/oom- files under $JEPALAB_FUZZ_DIR/<target>/artifacts, default
# /tmp/jepalab-fuzz). Exit status 1 if anything was found.
# Builds in a separate Bazel output base so the gcc build's cache stays untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=200000
TARGETS=()
for arg in "$@"; do
  case "$arg" in
    --runs=*) RUNS="${arg#--runs=}" ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
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

# Hostile probes: inputs nested 100000 deep, far past what mutation reaches from the seeds
# in a short run (a recursion that overflows the stack shows up at once). Run once each.
repeat() { local i; for ((i = 0; i < $2; ++i)); do printf '%s' "$1"; done; }
write_probes() {  # TARGET DIR
  local prefix suffix n=100000
  case "$1" in
    trainer_config_fuzzer) prefix='seed: ' suffix='' ;;
    plan_fuzzer) prefix='stages: ' suffix='' ;;
    arc_task_fuzzer) prefix='{"train": [{"input": [[1, ' suffix=']], "output": [[1]]}]}' ;;
    manifest_fuzzer) prefix='B{"frames": [[[' suffix=']]]}' ;;
    *) return 0 ;;  # binary protobuf inputs: protobuf bounds recursion itself (depth 100)
  esac
  { printf '%s' "$prefix"; repeat '[' $n; repeat ']' $n; printf '%s' "$suffix"; } >"$2/deep_lists"
  { printf '%s' "$prefix"; repeat '{"a": ' $n; printf 1; repeat '}' $n; printf '%s' "$suffix"; } >"$2/deep_maps"
  { repeat '- ' $n; printf 1; } >"$2/deep_block_list"  # a YAML document root
  if [ "$1" = plan_fuzzer ]; then  # "billion laughs": 8000 aliased stages of 8000 aliased runs
    { printf 'stages: [&s {name: a, runs: [&r {name: x, config: c.yaml}'; repeat ', *r' 8000
      printf ']}'; repeat ', *s' 8000; printf ']\n'; } >"$2/alias_expansion"
  fi
}

status=0
printf '%-24s %12s %8s %9s %s\n' target executions corpus findings artifacts >&2
for target in "${TARGETS[@]}"; do
  dir="$WORK/$target"
  rm -rf "$dir/artifacts"  # findings of an earlier run: fixed or still in its log
  mkdir -p "$dir/corpus" "$dir/artifacts"
  log="$dir/fuzz.log"
  rm -rf "$dir/probes" && mkdir -p "$dir/probes"
  write_probes "$target" "$dir/probes"
  probe_failed=0
  if [ -n "$(ls "$dir/probes")" ] &&
     ! "$BIN/$target" -rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/probe-" \
         "$dir"/probes/* >"$dir/probes.log" 2>&1; then
    echo "fuzz.sh: $target fails on a hostile probe, see $dir/probes.log" >&2
    probe_failed=1
  fi
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
  ((found == 0 && probe_failed)) && found=1
  new=$(find "$dir/corpus" -type f | wc -l)
  printf '%-24s %12s %8s %9s %s\n' "$target" "$execs" "$new" "$found" \
    "$( ((found)) && echo "$dir/artifacts (log $log)" || echo -)" >&2
  if ((rc != 0 || found > 0)); then
    status=1
    grep -m3 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|FUZZ_CHECK' "$log" >&2 || true
  fi
done
exit $status
