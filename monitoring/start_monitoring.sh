#!/usr/bin/env bash
# Starts Prometheus and Alertmanager on loopback against the running jepa-lab services, with the
# shipped rules (monitoring/prometheus) and routes (monitoring/alertmanager).
#
#   monitoring/start_monitoring.sh [--metrics_http=127.0.0.1:9464] [--prometheus_port=9090]
#       [--alertmanager_port=9093] [--data_dir=./.jepalab/monitoring]
#   monitoring/start_monitoring.sh stop [--data_dir=...]
#
# Logs and pid files go to <data_dir>; both servers listen on 127.0.0.1 only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
metrics_http=127.0.0.1:9464
prometheus_port=9090
alertmanager_port=9093
data_dir=./.jepalab/monitoring
command=start
for arg in "$@"; do
  case "$arg" in
    stop) command=stop ;;
    --metrics_http=*) metrics_http="${arg#*=}" ;;
    --prometheus_port=*) prometheus_port="${arg#*=}" ;;
    --alertmanager_port=*) alertmanager_port="${arg#*=}" ;;
    --data_dir=*) data_dir="${arg#*=}" ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "start_monitoring.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"

stop_one() {
  local pid_file="$data_dir/$1.pid"
  if [[ -f "$pid_file" ]]; then
    local pid
    pid=$(cat "$pid_file")
    if kill "$pid" 2>/dev/null; then echo "stopped $1 (pid $pid)"; fi
    rm -f "$pid_file"
  fi
}

if [[ "$command" == stop ]]; then
  stop_one prometheus
  stop_one alertmanager
  exit 0
fi

for tool in prometheus promtool prometheus-alertmanager; do
  command -v "$tool" >/dev/null || { echo "$tool not found: run tools/setup.sh" >&2; exit 1; }
done
for name in prometheus alertmanager; do
  if [[ -f "$data_dir/$name.pid" ]] && kill -0 "$(cat "$data_dir/$name.pid")" 2>/dev/null; then
    echo "$name already running (pid $(cat "$data_dir/$name.pid")); '$0 stop' first" >&2
    exit 1
  fi
done

# The shipped config with the actual addresses.
cp "$here/prometheus/jepalab_alerts.yml" "$data_dir/jepalab_alerts.yml"
sed -e "s/127.0.0.1:9464/$metrics_http/" -e "s/127.0.0.1:9093/127.0.0.1:$alertmanager_port/" \
  "$here/prometheus/prometheus.yml" > "$data_dir/prometheus.yml"
cp "$here/alertmanager/alertmanager.yml" "$data_dir/alertmanager.yml"
promtool check config "$data_dir/prometheus.yml" >/dev/null

mkdir -p "$data_dir/alertmanager-data" "$data_dir/prometheus-data"
prometheus-alertmanager --config.file="$data_dir/alertmanager.yml" \
  --storage.path="$data_dir/alertmanager-data" \
  --web.listen-address="127.0.0.1:$alertmanager_port" --cluster.listen-address= \
  >"$data_dir/alertmanager.log" 2>&1 &
echo $! > "$data_dir/alertmanager.pid"
prometheus --config.file="$data_dir/prometheus.yml" --storage.tsdb.path="$data_dir/prometheus-data" \
  --web.listen-address="127.0.0.1:$prometheus_port" >"$data_dir/prometheus.log" 2>&1 &
echo $! > "$data_dir/prometheus.pid"

# Wait for readiness (both are ready in well under a second).
for i in $(seq 1 100); do
  if curl -fs "http://127.0.0.1:$prometheus_port/-/ready" >/dev/null 2>&1 &&
     curl -fs "http://127.0.0.1:$alertmanager_port/-/ready" >/dev/null 2>&1; then
    echo "Prometheus:   http://127.0.0.1:$prometheus_port (scraping http://$metrics_http/metrics; alerts at /alerts)"
    echo "Alertmanager: http://127.0.0.1:$alertmanager_port (webhook receiver http://127.0.0.1:5001/alerts)"
    echo "Logs and pids in $data_dir; stop with: $0 stop --data_dir=$data_dir"
    exit 0
  fi
  sleep 0.1
done
echo "Prometheus or Alertmanager did not become ready; see $data_dir/*.log" >&2
exit 1
