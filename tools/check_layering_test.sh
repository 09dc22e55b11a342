#!/usr/bin/env bash
# tools/check_layering.py over a made-up tree: quiet on allowed includes, one line per crossing.
set -euo pipefail
check="$TEST_SRCDIR/$TEST_WORKSPACE/tools/check_layering.py"
root="$TEST_TMPDIR/tree"
mkdir -p "$root"/{cli,common,config,tests,bench,scheduler_service/core,trainer_service/core}
write() { mkdir -p "$(dirname "$root/$1")"; printf '#include "%s"\n' "$2" > "$root/$1"; }

# Allowed: own service, common/, config/, proto/, system headers; bench/ into a service core.
write scheduler_service/core/a.cc scheduler_service/core/run_queue.h
write scheduler_service/core/b.cc config/trainer_config.h
write cli/c.cc proto/scheduler.grpc.pb.h
write bench/d.cc trainer_service/core/trainer.h
write common/e.h absl/status/status.h
python3 "$check" "$root" || { echo "FAIL: allowed includes were reported"; exit 1; }

# Crossings: each must be named with its file and line.
write scheduler_service/core/bad1.cc trainer_service/core/trainer_config.h
write cli/bad2.cc scheduler_service/core/sweep_file.h
write config/bad3.cc metrics_service/core/run_store.h
write tests/bad4.cc trainer_service/core/trainer.h
write bench/bad5.cc cli/command_table.h
if out=$(python3 "$check" "$root"); then echo "FAIL: crossings not reported"; exit 1; fi
for expected in "scheduler_service/core/bad1.cc:1" "cli/bad2.cc:1" "config/bad3.cc:1" \
                "tests/bad4.cc:1" "bench/bad5.cc:1" "5 include(s) cross"; do
  grep -qF "$expected" <<<"$out" || { echo "FAIL: missing '$expected' in:"; echo "$out"; exit 1; }
done
echo "PASS"
