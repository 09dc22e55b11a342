#!/usr/bin/env bash
# C++ trainer vs the PyTorch reference (bench/reference/jepa_mini.py) on the `_mini` config:
# same generated grids (dumped by //bench:dump_tasks, read by both through a JSONL manifest),
# same thread count, same number of optimizer steps (3 epochs = 87 steps at batch 64). Prints
# training-loop samples/s of each, their ratio, and the embedding diagnostics' share of the C++
# training time at the config's interval (tracker timer, and diagnostics on vs off).
# Usage: bench/python_vs_cpp_bench.sh [THREADS=2] [REPEATS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${1:-2}"
REPEATS="${2:-2}"
CONFIG=configs/training/jepa_pretrain_a6000_mini.yaml
PY=/usr/bin/python3  # Debian's python3-torch (a pyenv python3 earlier on PATH has no torch)

bazel build -c opt //bench:train_mini_bench //bench:dump_tasks >/dev/null 2>&1 ||
  bazel build -c opt //bench:train_mini_bench //bench:dump_tasks
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)/bench"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$BIN/dump_tasks" "$CONFIG" "$WORK/tasks.jsonl" >/dev/null

field() { awk -v k="$1" 'index($0, k) == 1 { sub(k, ""); print $1; exit }' "$2"; }
cpp() {  # $1: output file, rest: overrides
  local out="$1"; shift
  "$BIN/train_mini_bench" "$CONFIG" "dataset_manifest=$WORK/tasks.jsonl" "training.num_threads=$THREADS" "$@" \
    >"$out" 2>/dev/null
}

echo "load: $(uptime | sed 's/.*load average/load average/')   threads: $THREADS   steps: 87 (batch 64)"
printf '%-4s %12s %12s %12s %8s %8s %12s %10s\n' run "C++ smp/s" "Py smp/s" "Py+OB1 smp/s" ratio "ratioOB1" "diag(timer)" "diag(on/off)"
for r in $(seq 1 "$REPEATS"); do
  cpp "$WORK/cpp_on.txt"
  cpp "$WORK/cpp_off.txt" diagnostics.embedding_metrics.enabled=false
  "$PY" bench/reference/jepa_mini.py --manifest "$WORK/tasks.jsonl" --threads "$THREADS" >"$WORK/py.txt"
  OPENBLAS_NUM_THREADS=1 "$PY" bench/reference/jepa_mini.py --manifest "$WORK/tasks.jsonl" --threads "$THREADS" \
    >"$WORK/py_ob1.txt"
  c=$(field "train samples/s" "$WORK/cpp_on.txt")
  p=$(field "train samples/s" "$WORK/py.txt")
  p1=$(field "train samples/s" "$WORK/py_ob1.txt")
  t_on=$(field "train loop" "$WORK/cpp_on.txt")
  t_off=$(field "train loop" "$WORK/cpp_off.txt")
  d=$(field "  diagnostics" "$WORK/cpp_on.txt")
  awk -v r="$r" -v c="$c" -v p="$p" -v p1="$p1" -v d="$d" -v on="$t_on" -v off="$t_off" 'BEGIN {
    printf "%-4s %12.1f %12.1f %12.1f %7.2fx %7.2fx %11.2f%% %9.1f%%\n", r, c, p, p1, c / p, c / p1,
           100 * d / on, 100 * (on - off) / off }' | tee -a "$WORK/rows.txt"
done
# Issue 3's targets, over all repeats: C++ >= 1.5x Python at the same thread count (Py+OB1), and
# diagnostics <= 3% of training time (tracker timer).
awk '{ ratio = $6 + 0; diag = $7 + 0
       if (NR == 1 || ratio < min_ratio) min_ratio = ratio
       if (NR == 1 || diag > max_diag) max_diag = diag }
     END { printf "target C++ >= 1.5x Python (same threads): %s (lowest %.2fx)\n", (min_ratio >= 1.5 ? "met" : "NOT met"), min_ratio
           printf "target diagnostics <= 3%% of training: %s (highest %.2f%%)\n", (max_diag <= 3 ? "met" : "NOT met"), max_diag }' \
  "$WORK/rows.txt"
echo "C++ stage breakdown (last run, diagnostics on):"
sed -n '/^  data wait/,/^  diagnostics/p' "$WORK/cpp_on.txt"
echo "Python stage breakdown (last run, OPENBLAS_NUM_THREADS=1):"
sed -n '/^  forward/,/^  diagnostics/p' "$WORK/py_ob1.txt"
