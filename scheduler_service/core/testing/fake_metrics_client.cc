#include "scheduler_service/core/testing/fake_metrics_client.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jepalab::scheduler::testing {

using ::jepalab::metrics::v1::Series;

absl::StatusOr<std::vector<Series>> FakeMetricsClient::GetRunHistory(
    const std::string& run_id, const std::vector<std::string>& names) {
  absl::MutexLock lock(&mu_);
  if (!available_) return absl::UnavailableError("fake metrics service is down");
  history_requests_.push_back(run_id);
  auto it = histories_.find(run_id);
  if (it == histories_.end()) return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
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

}  // namespace jepalab::scheduler::testing
