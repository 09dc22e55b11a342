#include "scheduler_service/core/collapse_confirmation.h"

#include <algorithm>

#include "scheduler_service/core/metrics_client.h"

namespace jepalab::scheduler {
namespace {

// A detector counts for `policy` when the policy names its indicator, or indicator/encoder.
bool CountsForPolicy(const v1::StopOnCollapsePolicy& policy,
                     const ::jepalab::metrics::v1::CollapseEvent& event) {
  if (policy.indicators().empty()) return true;
  const std::string detector = DetectorName(event.indicator(), event.encoder());
  for (const std::string& indicator : policy.indicators()) {
    if (indicator == event.indicator() || indicator == detector) return true;
  }
  return false;
}

}  // namespace

CollapseConfirmation::CollapseConfirmation(std::string run_id, v1::StopOnCollapsePolicy policy)
    : run_id_(std::move(run_id)), policy_(std::move(policy)) {}

bool CollapseConfirmation::Add(const ::jepalab::metrics::v1::CollapseEvent& event) {
  if (event.run_id() != run_id_ ||
      event.state() != ::jepalab::metrics::v1::COLLAPSE_STATE_COLLAPSED ||
      !CountsForPolicy(policy_, event)) {
    return false;
  }
  const std::string detector = DetectorName(event.indicator(), event.encoder());
  if (!counted_.emplace(detector, event.step()).second) return false;
  if (first_step_ < 0 || event.step() < first_step_) {
    first_step_ = event.step();
    first_detector_ = detector;
  }
  return counted_.size() >= static_cast<size_t>(std::max(1, policy_.confirm_events()));
}

}  // namespace jepalab::scheduler
