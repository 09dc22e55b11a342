#include "scheduler_service/core/testing/fake_metrics_client.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jepalab::scheduler::testing {

using ::jepalab::metrics::v1::CollapseEvent;
using ::jepalab::metrics::v1::CollapseState;
using ::jepalab::metrics::v1::Series;

absl::StatusOr<std::vector<Series>> FakeMetricsClient::GetRunHistory(
    const std::string& run_id, const std::vector<std::string>& names) {
  absl::MutexLock lock(&mu_);
  if (!available_) return absl::UnavailableError("fake metrics service is down");
  history_requests_.push_back(run_id);
  auto it = histories_.find(run_id);
  if (it == histories_.end())
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  std::vector<Series> result;
  for (const Series& series : it->second) {
    if (names.empty() || std::find(names.begin(), names.end(), series.name()) != names.end()) {
      result.push_back(series);
    }
  }
  return result;
}

absl::StatusOr<CollapseSummary> FakeMetricsClient::GetCollapseStatus(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  if (!available_) return absl::UnavailableError("fake metrics service is down");
  if (histories_.count(run_id) == 0 && collapses_.count(run_id) == 0) {
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  }
  auto it = collapses_.find(run_id);
  return it == collapses_.end() ? CollapseSummary() : it->second;
}

absl::Status FakeMetricsClient::WatchCollapseEvents(const std::vector<std::string>& run_ids,
                                                    const CollapseEventCallback& on_event,
                                                    CancelToken* cancel) {
  auto matches = [&run_ids](const CollapseEvent& event) {
    return run_ids.empty() ||
           std::find(run_ids.begin(), run_ids.end(), event.run_id()) != run_ids.end();
  };
  {
    absl::MutexLock lock(&mu_);
    ++collapse_watch_calls_;
    if (!available_) return absl::UnavailableError("fake metrics service is down");
    for (const std::string& run_id : run_ids) ++open_watches_[run_id];
  }
  cancel->SetOnCancel([this] {
    absl::MutexLock lock(&mu_);
    ++cancel_wakeups_;  // releasing mu_ re-evaluates the waiters' conditions
  });
  absl::Status result = absl::OkStatus();
  size_t next = 0;
  while (true) {
    std::vector<CollapseEvent> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return cancel->cancelled() || !available_ || events_.size() > next;
      };
      mu_.Await(absl::Condition(&ready));
      if (cancel->cancelled()) {
        result = absl::CancelledError("watch cancelled");
        break;
      }
      if (!available_) {
        result = absl::UnavailableError("fake metrics service went down");
        break;
      }
      for (; next < events_.size(); ++next) {
        if (matches(events_[next])) batch.push_back(events_[next]);
      }
    }
    for (const CollapseEvent& event : batch) {
      if (cancel->cancelled()) break;
      on_event(event);
      absl::MutexLock lock(&mu_);
      ++delivered_events_;
    }
  }
  cancel->ClearOnCancel();
  absl::MutexLock lock(&mu_);
  for (const std::string& run_id : run_ids) --open_watches_[run_id];
  return result;
}

void FakeMetricsClient::EmitCollapseEvent(const CollapseEvent& event) {
  absl::MutexLock lock(&mu_);
  events_.push_back(event);
}

bool FakeMetricsClient::WaitForCollapseWatchers(const std::string& run_id, int count,
                                                absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = open_watches_.find(run_id);
    return it != open_watches_.end() && it->second >= count;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

bool FakeMetricsClient::WaitForDeliveredCollapseEvents(int count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return delivered_events_ >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

int FakeMetricsClient::collapse_watch_calls() const {
  absl::MutexLock lock(&mu_);
  return collapse_watch_calls_;
}

void FakeMetricsClient::SetHistory(const std::string& run_id, std::vector<Series> series) {
  absl::MutexLock lock(&mu_);
  histories_[run_id] = std::move(series);
}

void FakeMetricsClient::SetCollapse(const std::string& run_id, CollapseSummary collapse) {
  absl::MutexLock lock(&mu_);
  collapses_[run_id] = std::move(collapse);
}

void FakeMetricsClient::SetAvailable(bool available) {
  absl::MutexLock lock(&mu_);
  available_ = available;
}

std::vector<std::string> FakeMetricsClient::history_requests() const {
  absl::MutexLock lock(&mu_);
  return history_requests_;
}

Series MakeSeries(const std::string& name, const std::vector<std::pair<int64_t, double>>& points) {
  Series series;
  series.set_name(name);
  for (const auto& [step, value] : points) {
    auto* point = series.add_points();
    point->set_step(step);
    point->set_value(value);
  }
  return series;
}

CollapseEvent MakeCollapsedEvent(const std::string& run_id, const std::string& indicator,
                                 const std::string& encoder, int64_t step) {
  CollapseEvent event;
  event.set_run_id(run_id);
  event.set_indicator(indicator);
  event.set_encoder(encoder);
  event.set_previous_state(CollapseState::COLLAPSE_STATE_WARNING);
  event.set_state(CollapseState::COLLAPSE_STATE_COLLAPSED);
  event.set_step(step);
  event.set_first_trigger(true);
  return event;
}

}  // namespace jepalab::scheduler::testing
