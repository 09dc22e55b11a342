#!/usr/bin/env bash
# Regenerates the Grafana provisioning in a scratch copy and compares: the Grafana alert rules
# and dashboards must be what monitoring/grafana/generate_grafana.py writes from the
# Prometheus rules (run it after editing either).
set -euo pipefail
scratch="${TEST_TMPDIR:-$(mktemp -d)}/monitoring"
mkdir -p "$scratch"
cp -rL monitoring/prometheus monitoring/grafana "$scratch/"
chmod -R u+w "$scratch"
# Debian's interpreter (with python3-yaml from tools/setup.sh), not whatever python3 is first on PATH.
/usr/bin/python3 "$scratch/grafana/generate_grafana.py"
for f in grafana/provisioning/alerting/jepalab_alerts.yml grafana/dashboards/runs_overview.json \
         grafana/dashboards/run_detail.json grafana/dashboards/experiments.json; do
  if ! diff -u "monitoring/$f" "$scratch/$f"; then
    echo "FAIL: monitoring/$f is stale; run python3 monitoring/grafana/generate_grafana.py" >&2
    exit 1
  fi
done
echo "Grafana provisioning in sync with monitoring/prometheus/jepalab_alerts.yml"
