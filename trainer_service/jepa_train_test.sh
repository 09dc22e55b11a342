#!/usr/bin/env bash
# jepa_train end to end: a tiny run succeeds and prints its summary; a bad config is refused
# with the key path and exit code 2.
set -uo pipefail
bin=trainer_service/jepa_train
config=configs/training/jepa_pretrain_a6000_mini.yaml
tiny=(data.generator.num_atomic=120 data.generator.num_sequential=80 training.batch_size=32 training.epochs=1 training.num_threads=1)

out=$("$bin" "$config" "${tiny[@]}" 2>"$TEST_TMPDIR/stderr")
rc=$?
[ "$rc" -eq 0 ] || { echo "expected exit 0, got $rc"; cat "$TEST_TMPDIR/stderr"; exit 1; }
grep -q "^state       RUN_STATE_SUCCEEDED" <<<"$out" || { echo "no SUCCEEDED in: $out"; exit 1; }
grep -qE "^steps       [1-9][0-9]* of [1-9]" <<<"$out" || { echo "no step count in: $out"; exit 1; }
grep -q "^step " "$TEST_TMPDIR/stderr" || { echo "no progress lines on stderr"; exit 1; }

err=$("$bin" "$config" optimizer.lr=-1 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 2 ] || { echo "expected exit 2 for a bad config, got $rc"; exit 1; }
grep -q "optimizer.lr: must be > 0, got -1" <<<"$err" || { echo "error does not name the key: $err"; exit 1; }
echo "jepa_train_test: ok"
