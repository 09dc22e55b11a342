#!/usr/bin/env bash
# The main job on embedded defaults: set up, build, start the three services on loopback, run
# the diagnostic plan end to end through the scheduler at the reproduction scale (the sixth run
# time-compressed, over three seeds; stage by stage, with progress), print its verdict (table and
# written conclusion) and write its HTML report. The services keep running afterwards.
#
#   tools/quickstart.sh            the plan at the reproduction scale (_repro configs), seeds 123-125
#   tools/quickstart.sh --quick    the quick plan (_mini configs, seeds 123-124, about 4 minutes):
#                                  a smoke test of the workflow, NOT a faithful reproduction
#   tools/quickstart.sh --single   one mini experiment and its final metrics
#   tools/quickstart.sh --stop     stop the services
#
# Environment: JEPALAB_HOME (data, logs, pids, reports; default ./.jepalab), JEPALAB_PLAN (plan
# file; default configs/plans/vq_diagnostic.yaml), JEPALAB_PLAN_ARGS (replaces the plan flags the
# mode chooses; empty runs the plan's own full-size configs and seeds), JEPALAB_CONFIG (--single:
# config to submit; default configs/training/jepa_pretrain_a6000_mini.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."

HOME_DIR=${JEPALAB_HOME:-.jepalab}
CONFIG=${JEPALAB_CONFIG:-configs/training/jepa_pretrain_a6000_mini.yaml}
PLAN=${JEPALAB_PLAN:-configs/plans/vq_diagnostic.yaml}
REPRO_ARGS="--scale repro --seed 123 --seed 124 --seed 125"
QUICK_ARGS="--scale mini --seed 123 --seed 124"
SCHEDULER_PORT=50051 TRAINER_PORT=50052 METRICS_PORT=50053 METRICS_HTTP_PORT=9464

stop_services() {
  local stopped=0
  for name in scheduler trainer metrics; do
    local pid_file="$HOME_DIR/pids/$name.pid"
    [ -f "$pid_file" ] || continue
    local pid; pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      stopped=$((stopped + 1))
    fi
    rm -f "$pid_file"
  done
  echo "stopped $stopped service(s)"
}

MODE=plan
PLAN_ARGS=${JEPALAB_PLAN_ARGS-$REPRO_ARGS}
SCALE_NOTE="reproduction scale: the sixth run time-compressed (docs/configs.md), seeds 123-125"
case "${1:-}" in
  --stop) stop_services; exit 0 ;;
  --single) MODE=single ;;
  --quick)
    PLAN_ARGS=${JEPALAB_PLAN_ARGS-$QUICK_ARGS}
    SCALE_NOTE="QUICK plan (_mini configs): a smoke test of the workflow, NOT a faithful reproduction of the sixth run (lr 1e-3, 87 micro-batches; see docs/configs.md)" ;;
  "") ;;
  *) echo "usage: tools/quickstart.sh [--quick | --single | --stop]" >&2; exit 2 ;;
esac

tools/setup.sh
echo "== building"
# -c opt: the training loop is ~3x faster than in the default fastbuild mode.
bazel build -c opt //metrics_service:metrics_server //trainer_service:trainer_server \
  //trainer_service:trainer_worker //scheduler_service:scheduler_server //cli:jepalab

mkdir -p "$HOME_DIR/pids" "$HOME_DIR/logs"
stop_services >/dev/null
BIN=bazel-bin
start() {  # name binary args...
  local name=$1; shift
  "$@" </dev/null >>"$HOME_DIR/logs/$name.log" 2>&1 &
  echo $! >"$HOME_DIR/pids/$name.pid"
}
echo "== starting services on 127.0.0.1 (logs in $HOME_DIR/logs)"
start metrics "$BIN/metrics_service/metrics_server" --port=$METRICS_PORT --http_port=$METRICS_HTTP_PORT \
  --data_dir="$HOME_DIR/metrics"
# trainer_server picks its workers' OpenMP waits (PASSIVE only when its runs oversubscribe the
# cores) unless the environment sets OMP_WAIT_POLICY or GOMP_SPINCOUNT.
# Two runs at a time: with PASSIVE OpenMP waits two runs on the 2 cores train 1.8x the samples/s
# of one (docs/performance.md, "OpenMP waits").
start trainer "$BIN/trainer_service/trainer_server" --max_concurrent_runs=2 \
  --port=$TRAINER_PORT --data_dir="$HOME_DIR/trainer" --metrics_address=127.0.0.1:$METRICS_PORT
# Plan run configs are read relative to --config_root: the repository root.
start scheduler "$BIN/scheduler_service/scheduler_server" --port=$SCHEDULER_PORT \
  --data_dir="$HOME_DIR/scheduler" --trainers=127.0.0.1:$TRAINER_PORT \
  --metrics_address=127.0.0.1:$METRICS_PORT --config_root="$PWD"

JEPALAB="$BIN/cli/jepalab"
if ! "$JEPALAB" health --wait=60; then
  echo "a service did not come up; see $HOME_DIR/logs/" >&2
  stop_services
  exit 1
fi

run_single() {
  echo "== submitting $CONFIG"
  local submitted
  submitted=$("$JEPALAB" submit "$CONFIG" --name mini)
  echo "$submitted"
  experiment=$(echo "$submitted" | awk '/^submitted/ {print $2}')
  "$JEPALAB" watch "$experiment" || status=$?
  echo "== final metrics"
  for run in $(echo "$submitted" | awk '$1 == "run" {print $2}'); do
    echo "run $run"
    "$JEPALAB" metrics "$run" --summary
  done
  hint="$JEPALAB status $experiment | $JEPALAB metrics <run> --name loss/total"
}

run_plan() {
  echo "== running the plan $PLAN $PLAN_ARGS (one trainer, two runs at a time)"
  echo "   $SCALE_NOTE"
  local submitted
  # shellcheck disable=SC2086  # PLAN_ARGS is a list of flags
  submitted=$("$JEPALAB" plan run "$PLAN" $PLAN_ARGS)
  echo "$submitted"
  local plan_id
  plan_id=$(echo "$submitted" | awk '/^submitted plan/ {print $3}')
  # Stages, runs, progress, and at the end the verdict: the written conclusion and the table.
  "$JEPALAB" plan watch "$plan_id" || status=$?
  echo "($SCALE_NOTE)"
  mkdir -p "$HOME_DIR/reports"
  report="$HOME_DIR/reports/$plan_id.html"
  echo "== report"
  if "$JEPALAB" report "$plan_id" -o "$report" >/dev/null; then
    echo "HTML report (charts per run, collapse markers, verdict): $report"
  else
    status=1
  fi
  hint="$JEPALAB plan status $plan_id | $JEPALAB plan verdict $plan_id | $JEPALAB compare <run> <run>"
}

status=0
hint=""
if [ "$MODE" = single ]; then run_single; else run_plan; fi

cat <<EOT

Prometheus metrics: http://127.0.0.1:$METRICS_HTTP_PORT/metrics
The services keep running (scheduler :$SCHEDULER_PORT, trainer :$TRAINER_PORT, metrics :$METRICS_PORT).
Try: $hint
Stop them with: tools/quickstart.sh --stop
EOT
exit $status
