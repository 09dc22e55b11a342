#include "metrics_service/core/collapse_monitor.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status_macros.h"

namespace jepalab::metrics {
namespace {

struct OrderedPoint {
  int64_t step;
  const std::string* name;
  double value;
  int64_t unix_ms;
};

void SortByStepAndName(std::vector<OrderedPoint>& points) {
  std::stable_sort(points.begin(), points.end(), [](const OrderedPoint& a, const OrderedPoint& b) {
    return std::tie(a.step, *a.name) < std::tie(b.step, *b.name);
  });
}

}  // namespace

CollapseMonitor::CollapseMonitor(const config::v1::CollapseDetectorsConfig& config)
    : config_(config) {}

CollapseMonitor::RunState& CollapseMonitor::RunFor(const std::string& run_id) {
  RunState& run = runs_[run_id];
  if (run.detectors == nullptr) {
    run.detectors = std::make_unique<RunCollapseDetectors>(run_id, config_);
  }
  return run;
}

bool CollapseMonitor::Matches(const Subscriber& subscriber, const v1::CollapseEvent& event) {
  if (!subscriber.run_ids.empty() && !subscriber.run_ids.contains(event.run_id())) return false;
  return subscriber.experiment.empty() || subscriber.experiment == event.experiment();
}

void CollapseMonitor::Publish(std::vector<v1::CollapseEvent>& events, const RunState& run) {
  for (v1::CollapseEvent& event : events) {
    event.set_experiment(run.experiment);
    for (const auto& [id, subscriber] : subscribers_) {
      if (Matches(subscriber, event)) subscriber.callback(event);
    }
  }
}

std::vector<v1::CollapseEvent> CollapseMonitor::ObserveRun(const v1::RunInfo& run, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  RunState& state = RunFor(run.run_id());
  state.experiment = run.experiment();
  std::vector<v1::CollapseEvent> events;
  state.detectors->ObserveRunState(run.state(), now_ms, &events);
  Publish(events, state);
  return events;
}

std::vector<v1::CollapseEvent> CollapseMonitor::ObservePoints(const MetricPoints& points,
                                                              int64_t now_ms) {
  absl::flat_hash_map<std::string, std::vector<OrderedPoint>> by_run;
  for (const v1::MetricPoint& point : points) {
    by_run[point.run_id()].push_back(OrderedPoint{point.step(), &point.name(), point.value(),
                                                  point.unix_ms() > 0 ? point.unix_ms() : now_ms});
  }
  std::vector<v1::CollapseEvent> all_events;
  absl::MutexLock lock(&mu_);
  for (auto& [run_id, run_points] : by_run) {
    SortByStepAndName(run_points);
    RunState& run = RunFor(run_id);
    std::vector<v1::CollapseEvent> events;
    for (const OrderedPoint& point : run_points) {
      run.detectors->Observe(*point.name, point.step, point.value, point.unix_ms, &events);
    }
    Publish(events, run);
    for (v1::CollapseEvent& event : events) all_events.push_back(std::move(event));
  }
  return all_events;
}

void CollapseMonitor::Replay(const v1::RunInfo& run, const std::vector<v1::Series>& history) {
  std::vector<OrderedPoint> points;
  for (const v1::Series& series : history) {
    for (const v1::SeriesPoint& point : series.points()) {
      points.push_back(OrderedPoint{point.step(), &series.name(), point.value(), point.unix_ms()});
    }
  }
  SortByStepAndName(points);
  auto detectors = std::make_unique<RunCollapseDetectors>(run.run_id(), config_);
  std::vector<v1::CollapseEvent> ignored;
  for (const OrderedPoint& point : points) {
    detectors->Observe(*point.name, point.step, point.value, point.unix_ms, &ignored);
  }
  detectors->ObserveRunState(run.state(), run.updated_unix_ms(), &ignored);
  absl::MutexLock lock(&mu_);
  RunState& state = runs_[run.run_id()];
  state.experiment = run.experiment();
  state.detectors = std::move(detectors);
}

std::vector<v1::DetectorStatus> CollapseMonitor::Statuses(absl::string_view run_id) const {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return {};
  return it->second.detectors->Statuses();
}

absl::StatusOr<int64_t> CollapseMonitor::Subscribe(const v1::WatchCollapseEventsRequest& filter,
                                                   Callback callback) {
  Subscriber subscriber;
  for (int i = 0; i < filter.run_ids_size(); ++i) {
    JEPALAB_RETURN_IF_ERROR(
        common::ValidateId(absl::StrCat("run_ids[", i, "]"), filter.run_ids(i)));
    subscriber.run_ids.insert(filter.run_ids(i));
  }
  if (!filter.experiment().empty()) {
    JEPALAB_RETURN_IF_ERROR(common::ValidateId("experiment", filter.experiment()));
  }
  subscriber.experiment = filter.experiment();
  subscriber.callback = std::move(callback);

  absl::MutexLock lock(&mu_);
  if (filter.include_current()) {
    for (const auto& [run_id, run] : runs_) {
      for (const v1::DetectorStatus& status : run.detectors->Statuses()) {
        if (status.state() == v1::COLLAPSE_STATE_OK ||
            status.state() == v1::COLLAPSE_STATE_UNSPECIFIED) {
          continue;
        }
        v1::CollapseEvent event;
        event.set_run_id(run_id);
        event.set_experiment(run.experiment);
        event.set_indicator(status.indicator());
        event.set_encoder(status.encoder());
        event.set_previous_state(v1::COLLAPSE_STATE_UNSPECIFIED);
        event.set_state(status.state());
        event.set_step(status.last_step());
        event.set_value(status.last_value());
        event.set_reason(status.reason());
        if (Matches(subscriber, event)) subscriber.callback(event);
      }
    }
  }
  const int64_t id = next_subscriber_id_++;
  subscribers_.emplace(id, std::move(subscriber));
  return id;
}

void CollapseMonitor::Unsubscribe(int64_t id) {
  absl::MutexLock lock(&mu_);
  subscribers_.erase(id);
}

int CollapseMonitor::NumSubscribers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(subscribers_.size());
}

}  // namespace jepalab::metrics
