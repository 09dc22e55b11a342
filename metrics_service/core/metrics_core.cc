#include "metrics_service/core/metrics_core.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ids.h"
#include "common/metric_names.h"
#include "common/status_macros.h"
#include "proto/common_states.h"

namespace jepalab::metrics {
namespace {

// Config hashes end up in a Prometheus label, so they must stay short.
constexpr size_t kMaxConfigHashLength = 128;

bool IsMetricNameChar(char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '/' || c == '-';
}

absl::Status InvalidField(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status ValidateState(absl::string_view field, common::v1::RunState state,
                           bool allow_unspecified) {
  if (!common::v1::RunState_IsValid(state)) {
    return InvalidField(field, absl::StrCat("unknown run state ", static_cast<int>(state)));
  }
  if (!allow_unspecified && state == common::v1::RUN_STATE_UNSPECIFIED) {
    return InvalidField(field, "must be set");
  }
  return absl::OkStatus();
}

// Names in first-seen order without duplicates, each validated as `<field>[i]`.
absl::StatusOr<std::vector<std::string>> UniqueNames(
    absl::string_view field, const google::protobuf::RepeatedPtrField<std::string>& names) {
  std::vector<std::string> unique;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < names.size(); ++i) {
    JEPALAB_RETURN_IF_ERROR(ValidateMetricName(absl::StrCat(field, "[", i, "]"), names[i]));
    if (seen.insert(names[i]).second) unique.push_back(names[i]);
  }
  return unique;
}

void FillBestAndWorst(v1::MetricSummary& summary) {
  const std::string direction = MetricDirection(summary.name());
  summary.set_better(direction);
  if (direction == "lower") {
    summary.set_best(summary.min());
    summary.set_best_step(summary.min_step());
    summary.set_worst(summary.max());
    summary.set_worst_step(summary.max_step());
  } else if (direction == "higher") {
    summary.set_best(summary.max());
    summary.set_best_step(summary.max_step());
    summary.set_worst(summary.min());
    summary.set_worst_step(summary.min_step());
  }
}

}  // namespace

std::string MetricDirection(absl::string_view name) {
  namespace names = ::jepalab::metric_names;
  if (absl::StartsWith(name, names::kLossPrefix) || name == names::kValLoss ||
      name == names::kTrainLoss || name == names::kVqDeadCodes ||
      name == names::kVqUnreachableCodes || name == names::kVqTargetDeadCodes ||
      name == names::kVqTargetUnreachableCodes || name == names::kStepTimeSeconds) {
    return "lower";
  }
  if (name == names::kVqUsageRatio || name == names::kVqActiveCodes ||
      name == names::kVqPerplexity || name == names::kVqTargetUsageRatio ||
      name == names::kVqTargetActiveCodes || name == names::kVqTargetPerplexity ||
      name == names::kVqValidSlotUsageRatio || name == names::kVqValidSlotActiveCodes) {
    return "higher";
  }
  if (absl::StartsWith(name, names::kDiagnosticsPrefix)) {
    for (absl::string_view stat : {names::kStatEffectiveRank, names::kStatRankMe,
                                   names::kStatIsotropy, names::kStatIsotropyRobust}) {
      if (absl::EndsWith(name, absl::StrCat("/", stat))) return "higher";
    }
  }
  return "";
}

absl::Status ValidateMetricName(absl::string_view field, absl::string_view name) {
  if (name.empty()) return InvalidField(field, "must not be empty");
  if (name.size() > static_cast<size_t>(kMaxMetricNameLength)) {
    return InvalidField(field, absl::StrFormat("must be at most %d characters, got %d",
                                               kMaxMetricNameLength, name.size()));
  }
  if (!std::all_of(name.begin(), name.end(), IsMetricNameChar)) {
    return InvalidField(
        field, absl::StrCat("must match [A-Za-z0-9_./-]+, got \"", absl::CEscape(name), "\""));
  }
  return absl::OkStatus();
}

absl::Status ValidateMetricPoints(const MetricPoints& points) {
  for (int i = 0; i < points.size(); ++i) {
    const v1::MetricPoint& point = points[i];
    const std::string prefix = absl::StrCat("points[", i, "].");
    JEPALAB_RETURN_IF_ERROR(common::ValidateId(absl::StrCat(prefix, "run_id"), point.run_id()));
    JEPALAB_RETURN_IF_ERROR(ValidateMetricName(absl::StrCat(prefix, "name"), point.name()));
    if (point.step() < 0) {
      return InvalidField(absl::StrCat(prefix, "step"),
                          absl::StrCat("must be >= 0, got ", point.step()));
    }
    if (point.epoch() < 0) {
      return InvalidField(absl::StrCat(prefix, "epoch"),
                          absl::StrCat("must be >= 0, got ", point.epoch()));
    }
    // SQLite would store NaN as NULL, and Inf poisons every mean and summary: reject both.
    if (!std::isfinite(point.value())) {
      return InvalidField(absl::StrCat(prefix, "value"),
                          absl::StrCat("must be finite, got ", point.value()));
    }
    if (point.unix_ms() < 0) {
      return InvalidField(absl::StrCat(prefix, "unix_ms"),
                          absl::StrCat("must be >= 0 (0: time of receipt), got ", point.unix_ms()));
    }
  }
  return absl::OkStatus();
}

MetricsCore::MetricsCore(RunStore* store, PrometheusMetrics* metrics, const common::Clock* clock,
                         CollapseMonitor* monitor)
    : store_(store),
      metrics_(metrics),
      clock_(clock),
      owned_monitor_(monitor == nullptr
                         ? std::make_unique<CollapseMonitor>(config::v1::CollapseDetectorsConfig())
                         : nullptr),
      monitor_(monitor == nullptr ? owned_monitor_.get() : monitor) {}

absl::Status MetricsCore::RestoreRuns() {
  JEPALAB_ASSIGN_OR_RETURN(std::vector<v1::RunInfo> runs, store_->ListRuns(""));
  const int64_t now_ms = clock_->NowUnixMillis();
  for (const v1::RunInfo& run : runs) {
    // A finished run's last update is when it finished: its retention runs from there.
    metrics_->ObserveRun(run, common::IsTerminal(run.state()) ? run.updated_unix_ms() : now_ms);
    HistoryQuery query;
    query.run_id = run.run_id();
    query.names = CollapseDetectorInputs(monitor_->config());
    JEPALAB_ASSIGN_OR_RETURN(std::vector<v1::Series> history, store_->GetHistory(query));
    monitor_->Replay(run, history);
    metrics_->ObserveDetectorStatuses(run.run_id(), monitor_->Statuses(run.run_id()));
  }
  metrics_->ExpireFinishedRuns(now_ms);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> MetricsCore::ReportMetrics(const v1::ReportMetricsRequest& batch) {
  JEPALAB_RETURN_IF_ERROR(ValidateMetricPoints(batch.points()));
  const int64_t now_ms = clock_->NowUnixMillis();
  JEPALAB_RETURN_IF_ERROR(store_->WritePoints(batch.points(), now_ms));

  // A run seen for the first time is observed from the store so that its series carry the
  // experiment it was registered with (or an empty one for an unregistered run).
  absl::flat_hash_set<std::string> runs;
  for (const v1::MetricPoint& point : batch.points()) runs.insert(point.run_id());
  for (const std::string& run_id : runs) {
    if (metrics_->KnowsRun(run_id)) continue;
    JEPALAB_ASSIGN_OR_RETURN(v1::RunInfo run, store_->GetRun(run_id));
    metrics_->ObserveRun(run, now_ms);
    monitor_->ObserveRun(run, now_ms);
  }
  metrics_->ObservePoints(batch.points());
  metrics_->ObserveCollapseEvents(monitor_->ObservePoints(batch.points(), now_ms));
  return static_cast<int64_t>(batch.points_size());
}

absl::StatusOr<v1::RunInfo> MetricsCore::RegisterRun(const v1::RunInfo& run) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("run.run_id", run.run_id()));
  if (!run.experiment().empty()) {
    JEPALAB_RETURN_IF_ERROR(common::ValidateId("run.experiment", run.experiment()));
  }
  if (run.config_hash().size() > kMaxConfigHashLength) {
    return InvalidField("run.config_hash",
                        absl::StrFormat("must be at most %d characters, got %d",
                                        kMaxConfigHashLength, run.config_hash().size()));
  }
  JEPALAB_RETURN_IF_ERROR(ValidateState("run.state", run.state(), /*allow_unspecified=*/true));
  for (const auto& [key, value] : run.labels()) {
    if (key.empty()) return InvalidField("run.labels", "keys must not be empty");
  }

  absl::MutexLock lock(&run_mu_);
  const int64_t now_ms = clock_->NowUnixMillis();
  v1::RunInfo merged = run;
  merged.clear_num_points();
  merged.clear_last_step();
  merged.set_updated_unix_ms(now_ms);
  absl::StatusOr<v1::RunInfo> existing = store_->GetRun(run.run_id());
  if (existing.ok()) {
    merged.set_created_unix_ms(existing->created_unix_ms());
    if (run.state() == common::v1::RUN_STATE_UNSPECIFIED) {
      merged.set_state(existing->state());
      merged.set_message(existing->message());
    }
  } else if (absl::IsNotFound(existing.status())) {
    if (merged.created_unix_ms() <= 0) merged.set_created_unix_ms(now_ms);
  } else {
    return existing.status();
  }
  JEPALAB_RETURN_IF_ERROR(store_->PutRun(merged));
  JEPALAB_ASSIGN_OR_RETURN(v1::RunInfo stored, store_->GetRun(run.run_id()));
  metrics_->ObserveRun(stored, now_ms);
  metrics_->ObserveCollapseEvents(monitor_->ObserveRun(stored, now_ms));
  return stored;
}

absl::StatusOr<v1::RunInfo> MetricsCore::UpdateRunState(const v1::UpdateRunStateRequest& request) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("run_id", request.run_id()));
  JEPALAB_RETURN_IF_ERROR(ValidateState("state", request.state(), /*allow_unspecified=*/false));

  absl::MutexLock lock(&run_mu_);
  JEPALAB_ASSIGN_OR_RETURN(v1::RunInfo run, store_->GetRun(request.run_id()));
  const int64_t now_ms = clock_->NowUnixMillis();
  run.set_state(request.state());
  run.set_message(request.message());
  run.set_updated_unix_ms(now_ms);
  JEPALAB_RETURN_IF_ERROR(store_->PutRun(run));
  metrics_->ObserveRun(run, now_ms);
  metrics_->ObserveCollapseEvents(monitor_->ObserveRun(run, now_ms));
  return run;
}

absl::StatusOr<v1::GetRunHistoryResponse> MetricsCore::GetRunHistory(
    const v1::GetRunHistoryRequest& request) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("run_id", request.run_id()));
  if (request.min_step() < 0) {
    return InvalidField("min_step", absl::StrCat("must be >= 0, got ", request.min_step()));
  }
  if (request.max_step() < 0) {
    return InvalidField("max_step", absl::StrCat("must be >= 0, got ", request.max_step()));
  }
  if (request.max_step() != 0 && request.max_step() < request.min_step()) {
    return InvalidField("max_step", absl::StrCat("must be >= min_step (", request.min_step(),
                                                 ") or 0 for no bound, got ", request.max_step()));
  }
  if (request.max_points() < 0) {
    return InvalidField("max_points",
                        absl::StrCat("must be >= 0 (0: all), got ", request.max_points()));
  }
  HistoryQuery query;
  JEPALAB_ASSIGN_OR_RETURN(query.names, UniqueNames("names", request.names()));
  // NotFound for an unknown run, rather than an empty answer that hides a typo.
  JEPALAB_RETURN_IF_ERROR(store_->GetRun(request.run_id()).status());
  query.run_id = request.run_id();
  query.min_step = request.min_step();
  query.max_step = request.max_step();
  query.max_points = request.max_points();
  JEPALAB_ASSIGN_OR_RETURN(std::vector<v1::Series> series, store_->GetHistory(query));

  v1::GetRunHistoryResponse response;
  response.set_run_id(request.run_id());
  for (v1::Series& one : series) *response.add_series() = std::move(one);
  return response;
}

absl::StatusOr<v1::ListRunsResponse> MetricsCore::ListRuns(const v1::ListRunsRequest& request) {
  JEPALAB_ASSIGN_OR_RETURN(std::vector<v1::RunInfo> runs, store_->ListRuns(request.experiment()));
  v1::ListRunsResponse response;
  for (v1::RunInfo& run : runs) *response.add_runs() = std::move(run);
  return response;
}

absl::StatusOr<v1::CompareRunsResponse> MetricsCore::CompareRuns(
    const v1::CompareRunsRequest& request) {
  if (request.run_ids().empty()) return InvalidField("run_ids", "must not be empty");
  for (int i = 0; i < request.run_ids_size(); ++i) {
    JEPALAB_RETURN_IF_ERROR(
        common::ValidateId(absl::StrCat("run_ids[", i, "]"), request.run_ids(i)));
  }
  JEPALAB_ASSIGN_OR_RETURN(std::vector<std::string> names, UniqueNames("names", request.names()));

  std::vector<v1::RunInfo> runs;
  for (const std::string& run_id : request.run_ids()) {
    JEPALAB_ASSIGN_OR_RETURN(v1::RunInfo run, store_->GetRun(run_id));
    runs.push_back(std::move(run));
  }
  if (names.empty()) {
    // The metrics every listed run has: only those can be compared side by side.
    std::set<std::string> common_names;
    for (size_t i = 0; i < runs.size(); ++i) {
      JEPALAB_ASSIGN_OR_RETURN(std::vector<std::string> run_names,
                               store_->ListSeriesNames(runs[i].run_id()));
      std::set<std::string> these(run_names.begin(), run_names.end());
      if (i == 0) {
        common_names = std::move(these);
      } else {
        std::set<std::string> both;
        std::set_intersection(common_names.begin(), common_names.end(), these.begin(), these.end(),
                              std::inserter(both, both.begin()));
        common_names = std::move(both);
      }
    }
    names.assign(common_names.begin(), common_names.end());
    // No shared metric: every summary list is empty (SummarizeSeries would read all series).
    if (names.empty()) {
      v1::CompareRunsResponse response;
      for (v1::RunInfo& run : runs) {
        v1::RunComparison* comparison = response.add_runs();
        AddCollapseSummary(run.run_id(), comparison);
        *comparison->mutable_run() = std::move(run);
      }
      return response;
    }
  }

  v1::CompareRunsResponse response;
  for (v1::RunInfo& run : runs) {
    v1::RunComparison* comparison = response.add_runs();
    JEPALAB_ASSIGN_OR_RETURN(std::vector<v1::MetricSummary> summaries,
                             store_->SummarizeSeries(run.run_id(), names));
    for (v1::MetricSummary& summary : summaries) {
      FillBestAndWorst(summary);
      *comparison->add_metrics() = std::move(summary);
    }
    AddCollapseSummary(run.run_id(), comparison);
    *comparison->mutable_run() = std::move(run);
  }
  return response;
}

void MetricsCore::AddCollapseSummary(const std::string& run_id,
                                     v1::RunComparison* comparison) const {
  comparison->set_first_collapse_step(-1);
  comparison->set_first_collapse_unix_ms(-1);
  for (v1::DetectorStatus& status : monitor_->Statuses(run_id)) {
    const int64_t step = status.first_collapse_step();
    if (step >= 0 &&
        (comparison->first_collapse_step() < 0 || step < comparison->first_collapse_step())) {
      comparison->set_first_collapse_step(step);
      comparison->set_first_collapse_unix_ms(status.first_collapse_unix_ms());
      comparison->set_first_collapse_indicator(status.indicator());
    }
    *comparison->add_detectors() = std::move(status);
  }
}

absl::StatusOr<v1::GetCollapseStatusResponse> MetricsCore::GetCollapseStatus(
    const v1::GetCollapseStatusRequest& request) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("run_id", request.run_id()));
  JEPALAB_RETURN_IF_ERROR(store_->GetRun(request.run_id()).status());
  v1::GetCollapseStatusResponse response;
  response.set_run_id(request.run_id());
  for (v1::DetectorStatus& status : monitor_->Statuses(request.run_id())) {
    *response.add_detectors() = std::move(status);
  }
  return response;
}

absl::StatusOr<int64_t> MetricsCore::WatchCollapseEvents(
    const v1::WatchCollapseEventsRequest& request,
    std::function<void(const v1::CollapseEvent&)> callback) {
  return monitor_->Subscribe(request, std::move(callback));
}

void MetricsCore::UnwatchCollapseEvents(int64_t id) { monitor_->Unsubscribe(id); }

int MetricsCore::ExpireFinishedRuns() {
  return metrics_->ExpireFinishedRuns(clock_->NowUnixMillis());
}

}  // namespace jepalab::metrics
