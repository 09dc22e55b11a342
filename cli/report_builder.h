// Turns what `jepalab report` fetched (a plan or experiments, each run's metric history and
// collapse status) into the renderer's plain input. Pure; the RPCs live in report_commands.cc.
#ifndef JEPALAB_CLI_REPORT_BUILDER_H_
#define JEPALAB_CLI_REPORT_BUILDER_H_

#include <string>
#include <utility>
#include <vector>

#include "cli/report_html.h"
#include "proto/metrics.pb.h"
#include "proto/scheduler.pb.h"

namespace jepalab::cli {

// One trainer run as charted: its legend name and what metrics_service knows of it (both may be
// empty: a run that never reported).
struct ReportRunData {
  std::string name;
  metrics::v1::GetRunHistoryResponse history;
  metrics::v1::GetCollapseStatusResponse collapse;
};

// The metric series the report charts (the names to ask GetRunHistory for).
std::vector<std::string> ReportMetricNames();

// Legend names of a plan's trainer runs: the plan run's name, plus "/s<seed>" when it has several
// seeds; in plan order. Parallel to the run ids in plan order.
std::vector<std::pair<std::string, std::string>> PlanRunNames(const scheduler::v1::Plan& plan);

// The page: charts of loss/total, val/loss, codebook usage, effective rank (context encoder:
// rankme and reference) and isotropy (context: robust and reference, log scale across decades),
// each run's earliest confirmed collapse marked on every chart. With `plan` (not null) and a
// verdict set, the verdict section.
ReportInput BuildReportInput(const std::string& title, const std::string& subtitle,
                             const scheduler::v1::Plan* plan,
                             const std::vector<ReportRunData>& runs);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_REPORT_BUILDER_H_
