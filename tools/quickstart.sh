#!/usr/bin/env bash
# The main job on embedded defaults: set up, build, start the three services on loopback,
# submit the mini experiment through the scheduler, show its progress, print its final
# metrics and where Prometheus metrics are served. The services keep running afterwards;
# `tools/quickstart.sh --stop` stops them.
#
# Environment: JEPALAB_HOME (data, logs, pids; default ./.jepalab), JEPALAB_CONFIG (config to
# submit; default configs/training/jepa_pretrain_a6000_mini.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."

HOME_DIR=${JEPALAB_HOME:-.jepalab}
CONFIG=${JEPALAB_CONFIG:-configs/training/jepa_pretrain_a6000_mini.yaml}
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

if [ "${1:-}" = "--stop" ]; then stop_services; exit 0; fi

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
start trainer "$BIN/trainer_service/trainer_server" --port=$TRAINER_PORT --data_dir="$HOME_DIR/trainer" \
  --metrics_address=127.0.0.1:$METRICS_PORT
start scheduler "$BIN/scheduler_service/scheduler_server" --port=$SCHEDULER_PORT \
  --data_dir="$HOME_DIR/scheduler" --trainers=127.0.0.1:$TRAINER_PORT

JEPALAB="$BIN/cli/jepalab"
if ! "$JEPALAB" health --wait=60; then
  echo "a service did not come up; see $HOME_DIR/logs/" >&2
  stop_services
  exit 1
fi

echo "== submitting $CONFIG"
submitted=$("$JEPALAB" submit "$CONFIG" --name mini)
echo "$submitted"
experiment=$(echo "$submitted" | awk '/^submitted/ {print $2}')
status=0
"$JEPALAB" watch "$experiment" || status=$?

echo "== final metrics"
for run in $(echo "$submitted" | awk '$1 == "run" {print $2}'); do
  echo "run $run"
  "$JEPALAB" metrics "$run" --summary
done

cat <<EOT

Prometheus metrics: http://127.0.0.1:$METRICS_HTTP_PORT/metrics
The services keep running (scheduler :$SCHEDULER_PORT, trainer :$TRAINER_PORT, metrics :$METRICS_PORT).
Try: $JEPALAB list | $JEPALAB status $experiment | $JEPALAB metrics <run> --name loss/total
Stop them with: tools/quickstart.sh --stop
EOT
exit $status
