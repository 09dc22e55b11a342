#!/usr/bin/env bash
# amtool check-config on the shipped Alertmanager config, and that the jepalab route ends at
# the webhook receiver.
set -euo pipefail
AMTOOL=${AMTOOL:-/usr/bin/amtool}
CONFIG=monitoring/alertmanager/alertmanager.yml
if [[ ! -x "$AMTOOL" ]]; then
  echo "SKIPPED: $AMTOOL not found (Debian package prometheus-alertmanager); config not checked"
  exit 0
fi
"$AMTOOL" check-config "$CONFIG"
receiver=$("$AMTOOL" config routes test --config.file="$CONFIG" \
  alertname=JepalabEmbeddingCollapse team=jepalab severity=critical run=r1)
echo "route for JepalabEmbeddingCollapse: $receiver"
[[ "$receiver" == "jepalab-webhook" ]] || { echo "FAIL: expected jepalab-webhook" >&2; exit 1; }
grep -q 'url: "http://127.0.0.1:5001/alerts"' "$CONFIG"
