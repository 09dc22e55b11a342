#!/usr/bin/env python3
"""Writes the Grafana provisioning of jepa-lab from the Prometheus rules (so the Grafana alert
rules stay equivalent to ../prometheus/jepalab_alerts.yml) and the dashboard definitions below.

Run after changing either: python3 monitoring/grafana/generate_grafana.py
//tests:monitoring_e2e_test checks every expression it writes against a live metrics_service.
"""
import json
import os
import re

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DATASOURCE = {"type": "prometheus", "uid": "jepalab-prometheus"}


def duration_seconds(text):
    total = 0
    for number, unit in re.findall(r"(\d+)([smhd])", text):
        total += int(number) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    return total


def grafana_alerts():
    with open(os.path.join(HERE, "..", "prometheus", "jepalab_alerts.yml")) as f:
        rules = yaml.safe_load(f)
    groups = []
    for group in rules["groups"]:
        out_rules = []
        for rule in group["rules"]:
            expr = " ".join(rule["expr"].split())
            uid = re.sub(r"(?<!^)(?=[A-Z])", "-", rule["alert"]).lower()[:40]
            annotations = {
                key: value.replace("$value", "$values.A.Value")
                for key, value in rule.get("annotations", {}).items()
                if key != "dashboard"
            }
            annotations["__dashboardUid__"] = "jepalab-run"
            annotations["runbook_url"] = "docs/monitoring.md#alerts"
            window = max(600, duration_seconds(expr) if "[" in expr else 0)
            out_rules.append({
                "uid": uid,
                "title": rule["alert"],
                "condition": "C",
                "data": [
                    {
                        "refId": "A",
                        "relativeTimeRange": {"from": window, "to": 0},
                        "datasourceUid": DATASOURCE["uid"],
                        # The Prometheus rule's expression: a filter, so any series is a hit.
                        "model": {"refId": "A", "expr": expr, "instant": True,
                                  "intervalMs": 1000, "maxDataPoints": 43200},
                    },
                    {
                        "refId": "B",
                        "datasourceUid": "__expr__",
                        "model": {"refId": "B", "type": "reduce", "expression": "A",
                                  "reducer": "count", "settings": {"mode": "dropNN"}},
                    },
                    {
                        "refId": "C",
                        "datasourceUid": "__expr__",
                        "model": {"refId": "C", "type": "threshold", "expression": "B",
                                  "conditions": [{"evaluator": {"type": "gt", "params": [0]}}]},
                    },
                ],
                "noDataState": "OK",
                "execErrState": "Error",
                "for": rule.get("for", "0s"),
                "labels": rule.get("labels", {}),
                "annotations": annotations,
            })
        groups.append({"orgId": 1, "name": group["name"], "folder": "jepa-lab",
                       "interval": "15s", "rules": out_rules})
    return {"apiVersion": 1, "groups": groups}


def panel(title, exprs, x, y, w=12, h=8, unit=None, legend="{{run}}", kind="timeseries"):
    targets = []
    for i, expr in enumerate(exprs):
        if isinstance(expr, tuple):
            expr, fmt = expr
        else:
            fmt = legend
        targets.append({"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr,
                        "legendFormat": fmt})
    p = {"type": kind, "title": title, "datasource": DATASOURCE, "targets": targets,
         "gridPos": {"x": x, "y": y, "w": w, "h": h}}
    if unit:
        p["fieldConfig"] = {"defaults": {"unit": unit}, "overrides": []}
    return p


def dashboard(uid, title, panels, variables):
    for i, p in enumerate(panels):
        p["id"] = i + 1
    return {"uid": uid, "title": title, "tags": ["jepa-lab"], "timezone": "browser",
            "schemaVersion": 36, "version": 1, "refresh": "10s",
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": variables}, "panels": panels}


def variable(name, query, multi=False):
    return {"name": name, "type": "query", "datasource": DATASOURCE,
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2,
            "multi": multi, "includeAll": multi}


def dashboards():
    run = 'run="$run"'
    overview = dashboard("jepalab-overview", "jepa-lab: runs overview", [
        panel("Runs", ["jepalab_run_info"], 0, 0, w=24, kind="table",
              legend="{{run}} {{state}}"),
        panel("Steps per second", ["sum by (run) (rate(jepalab_train_steps_total[$__rate_interval]))"],
              0, 8, unit="ops"),
        panel("Total loss", ['jepalab_train_loss{component="total"}'], 12, 8),
        panel("Collapse detectors not OK (2 warning, 3 collapsed)",
              [("jepalab_collapse_state >= 2", "{{run}} {{indicator}} {{encoder}}")], 0, 16),
        panel("Collapse events (1h)",
              [("sum by (indicator, severity) (increase(jepalab_collapse_events_total[1h]))",
                "{{indicator}} {{severity}}")], 12, 16),
        panel("Ingest (points/s)",
              [("rate(jepalab_metrics_points_ingested_total[$__rate_interval])", "points"),
               ("rate(jepalab_metrics_batches_ingested_total[$__rate_interval])", "batches")],
              0, 24, unit="ops"),
        panel("Validation loss", ["jepalab_train_validation_loss"], 12, 24),
    ], [])
    detail = dashboard("jepalab-run", "jepa-lab: run", [
        # Online VQ and, with a target encoder, the target's own VQ (per diagnostics window).
        panel("Codebook usage ratio",
              [(f"jepalab_vq_codebook_usage_ratio{{{run}}}", "online"),
               (f"jepalab_vq_target_codebook_usage_ratio{{{run}}}", "target")], 0, 0,
              unit="percentunit"),
        panel("Codebook perplexity", [(f"jepalab_vq_perplexity{{{run}}}", "online"),
                                      (f"jepalab_vq_target_perplexity{{{run}}}", "target")],
              12, 0),
        panel("Dead codes", [(f"jepalab_vq_dead_codes{{{run}}}", "dead"),
                             (f"jepalab_vq_active_codes{{{run}}}", "active"),
                             (f"jepalab_vq_target_dead_codes{{{run}}}", "target dead"),
                             (f"jepalab_vq_target_active_codes{{{run}}}", "target active")],
              0, 8),
        panel("VQ refreshes and re-initialised codes",
              [(f"increase(jepalab_vq_refreshes_total{{{run}}}[$__rate_interval])", "refreshes"),
               (f"increase(jepalab_vq_codes_reinitialized_total{{{run}}}[$__rate_interval])",
                "codes re-initialised"),
               (f"increase(jepalab_vq_codes_reinitialized_in_use_total{{{run}}}[$__rate_interval])",
                "re-initialised while in use"),
               (f"increase(jepalab_vq_target_refreshes_total{{{run}}}[$__rate_interval])",
                "target refreshes"),
               (f"increase(jepalab_vq_target_codes_reinitialized_total{{{run}}}[$__rate_interval])",
                "target codes re-initialised"),
               (f"increase(jepalab_vq_target_codes_reinitialized_in_use_total{{{run}}}[$__rate_interval])",
                "target re-initialised while in use")], 12, 8),
        panel("Effective rank (RankMe; reference)",
              [(f"jepalab_embedding_rankme{{{run}}}", "rankme {{encoder}}"),
               (f"jepalab_embedding_effective_rank{{{run}}}", "reference {{encoder}}")], 0, 16),
        panel("Isotropy (robust; reference, jitter-dominated)",
              [(f"jepalab_embedding_isotropy_robust{{{run}}}", "robust {{encoder}}"),
               (f"jepalab_embedding_isotropy{{{run}}}", "reference {{encoder}}")], 12, 16),
        panel("Loss by component", [(f"jepalab_train_loss{{{run}}}", "{{component}}")], 0, 24),
        panel("Validation loss", [(f"jepalab_train_validation_loss{{{run}}}", "val")], 12, 24),
        panel("Temperature", [(f"jepalab_train_temperature{{{run}}}", "temperature")], 0, 32),
        panel("Gradient norm", [(f"jepalab_train_grad_norm{{{run}}}", "grad norm")], 12, 32),
        panel("Learning rate", [(f"jepalab_train_learning_rate{{{run}}}", "lr")], 0, 40),
        panel("Step duration p50 / p95",
              [(f"histogram_quantile(0.5, sum by (le) (rate(jepalab_train_step_duration_seconds_bucket{{{run}}}[$__rate_interval])))", "p50"),
               (f"histogram_quantile(0.95, sum by (le) (rate(jepalab_train_step_duration_seconds_bucket{{{run}}}[$__rate_interval])))", "p95")],
              12, 40, unit="s"),
        panel("Step and epoch", [(f"jepalab_train_step{{{run}}}", "step"),
                                 (f"jepalab_train_epoch{{{run}}}", "epoch")], 0, 48),
        panel("Collapse detectors (1 ok, 2 warning, 3 collapsed)",
              [(f"jepalab_collapse_state{{{run}}}", "{{indicator}} {{encoder}}")], 12, 48),
    ], [variable("run", "label_values(jepalab_run_info, run)")])
    exp = 'experiment=~"$experiment"'
    experiments = dashboard("jepalab-experiments", "jepa-lab: experiments side by side", [
        panel("Best validation loss by experiment",
              [(f"min by (experiment) (jepalab_train_validation_loss{{{exp}}})", "{{experiment}}")], 0, 0),
        panel("Total loss by experiment",
              [(f'avg by (experiment) (jepalab_train_loss{{component="total",{exp}}})', "{{experiment}}")], 12, 0),
        panel("Lowest RankMe by experiment",
              [(f"min by (experiment, encoder) (jepalab_embedding_rankme{{{exp}}})", "{{experiment}} {{encoder}}")], 0, 8),
        panel("Codebook usage by experiment",
              [(f"avg by (experiment) (jepalab_vq_codebook_usage_ratio{{{exp}}})", "{{experiment}}")], 12, 8,
              unit="percentunit"),
        panel("Collapse events by experiment (24h)",
              [(f"sum by (experiment, indicator) (increase(jepalab_collapse_events_total{{{exp}}}[24h]))", "{{experiment}} {{indicator}}")], 0, 16),
        panel("Steps per second by experiment",
              [(f"sum by (experiment) (rate(jepalab_train_steps_total{{{exp}}}[$__rate_interval]))", "{{experiment}}")], 12, 16,
              unit="ops"),
    ], [variable("experiment", "label_values(jepalab_run_info, experiment)", multi=True)])
    return {"runs_overview.json": overview, "run_detail.json": detail,
            "experiments.json": experiments}


def main():
    for name, board in dashboards().items():
        with open(os.path.join(HERE, "dashboards", name), "w") as f:
            json.dump(board, f, indent=2)
            f.write("\n")
    with open(os.path.join(HERE, "provisioning", "alerting", "jepalab_alerts.yml"), "w") as f:
        f.write("# Generated by monitoring/grafana/generate_grafana.py from "
                "monitoring/prometheus/jepalab_alerts.yml: edit those, not this.\n")
        yaml.safe_dump(grafana_alerts(), f, sort_keys=False, width=100)


if __name__ == "__main__":
    main()
