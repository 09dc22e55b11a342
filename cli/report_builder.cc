#include "cli/report_builder.h"

#include <cstdint>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/metric_names.h"

namespace jepalab::cli {
namespace {

namespace met = ::jepalab::metrics::v1;
namespace names = ::jepalab::metric_names;

std::string Diagnostic(const char* stat) {
  return absl::StrCat(names::kDiagnosticsPrefix, "context/", stat);
}

struct ChartSpec {
  const char* title;
  ReportScale scale;
  std::vector<std::pair<std::string, std::string>> variants;  // variant -> metric name
};

std::vector<ChartSpec> Specs() {
  return {
      {"Training loss", ReportScale::kLinear, {{"", names::kLossTotal}}},
      {"Validation loss", ReportScale::kLinear, {{"", names::kValLoss}}},
      {"Codebook usage", ReportScale::kLinear, {{"", names::kVqUsageRatio}}},
      {"Effective rank (context encoder)",
       ReportScale::kLinear,
       {{"rankme", Diagnostic(names::kStatRankMe)},
        {"reference", Diagnostic(names::kStatEffectiveRank)}}},
      {"Isotropy (context encoder)",
       ReportScale::kAuto,
       {{"robust", Diagnostic(names::kStatIsotropyRobust)},
        {"reference", Diagnostic(names::kStatIsotropy)}}},
  };
}

std::vector<ReportPoint> Points(const met::GetRunHistoryResponse& history,
                                const std::string& name) {
  std::vector<ReportPoint> points;
  for (const met::Series& series : history.series()) {
    if (series.name() != name) continue;
    for (const met::SeriesPoint& p : series.points()) points.push_back({p.step(), p.value()});
  }
  return points;
}

}  // namespace

std::vector<std::string> ReportMetricNames() {
  std::vector<std::string> out;
  for (const ChartSpec& spec : Specs()) {
    for (const auto& [variant, metric] : spec.variants) out.push_back(metric);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> PlanRunNames(const scheduler::v1::Plan& plan) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const scheduler::v1::PlanRunStatus& run : plan.runs()) {
    for (const std::string& run_id : run.run_ids()) {
      std::string name = run.name();
      if (run.run_ids_size() > 1) {
        const size_t dash = run_id.rfind("-s");
        absl::StrAppend(&name, "/", dash == std::string::npos ? run_id : run_id.substr(dash + 1));
      }
      out.emplace_back(name, run_id);
    }
  }
  return out;
}

ReportInput BuildReportInput(const std::string& title, const std::string& subtitle,
                             const scheduler::v1::Plan* plan,
                             const std::vector<ReportRunData>& runs) {
  ReportInput input;
  input.title = title;
  input.subtitle = subtitle;
  if (plan != nullptr && (!plan->conclusion().empty() || !plan->table().empty())) {
    input.has_verdict = true;
    input.conclusion = plan->conclusion();
    input.table_markdown = plan->table();
  }
  std::vector<ReportMarker> markers;
  for (const ReportRunData& run : runs) {
    input.runs.push_back(run.name);
    const met::DetectorStatus* first = nullptr;
    for (const met::DetectorStatus& d : run.collapse.detectors()) {
      if (d.first_collapse_step() < 0) continue;
      if (first == nullptr || d.first_collapse_step() < first->first_collapse_step()) first = &d;
    }
    if (first != nullptr) {
      markers.push_back({run.name, first->first_collapse_step(),
                         first->encoder().empty()
                             ? first->indicator()
                             : absl::StrCat(first->indicator(), "/", first->encoder())});
    }
  }
  for (const ChartSpec& spec : Specs()) {
    ReportChart chart;
    chart.title = spec.title;
    chart.scale = spec.scale;
    for (const auto& [variant, metric] : spec.variants) {
      absl::StrAppend(&chart.metric_note, chart.metric_note.empty() ? "" : ", ", metric,
                      variant.empty() ? "" : absl::StrCat(" (", variant, ")"));
    }
    for (const ReportRunData& run : runs) {
      for (const auto& [variant, metric] : spec.variants) {
        std::vector<ReportPoint> points = Points(run.history, metric);
        if (points.empty()) continue;
        chart.series.push_back({run.name, variant, std::move(points)});
      }
    }
    chart.markers = markers;
    input.charts.push_back(std::move(chart));
  }
  return input;
}

}  // namespace jepalab::cli
