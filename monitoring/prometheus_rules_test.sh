#!/usr/bin/env bash
# promtool check rules, promtool test rules (one firing and one quiet case per alert) and
# promtool check config on the shipped Prometheus files.
set -euo pipefail
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
if [[ ! -x "$PROMTOOL" ]]; then
  echo "FAIL: $PROMTOOL not found; run tools/setup.sh (Debian package prometheus)" >&2
  exit 1
fi
cd monitoring/prometheus
"$PROMTOOL" check rules jepalab_alerts.yml
"$PROMTOOL" test rules jepalab_alerts_test.yml
# check config reads the rule files relative to the config file, like Prometheus does.
"$PROMTOOL" check config prometheus.yml
