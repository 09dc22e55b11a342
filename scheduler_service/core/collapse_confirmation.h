// Decides when a run's collapse is confirmed under its StopOnCollapsePolicy: counts distinct
// COLLAPSED events of the chosen detectors until confirm_events of them were seen.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_COLLAPSE_CONFIRMATION_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_COLLAPSE_CONFIRMATION_H_

#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "proto/metrics.pb.h"
#include "proto/scheduler.pb.h"

namespace jepalab::scheduler {

// One run's count. Thread-compatible.
class CollapseConfirmation {
 public:
  CollapseConfirmation(std::string run_id, v1::StopOnCollapsePolicy policy);

  // Counts `event` if it is a COLLAPSED event of this run from a detector the policy names
  // (all when it names none) not counted before (a reconnect replays current states). Returns
  // true once confirmed, i.e. at least max(1, confirm_events) events were counted.
  bool Add(const ::jepalab::metrics::v1::CollapseEvent& event);
  // The earliest counted event: where the stop says the run collapsed.
  int64_t first_step() const { return first_step_; }
  const std::string& first_detector() const { return first_detector_; }

 private:
  const std::string run_id_;
  const v1::StopOnCollapsePolicy policy_;
  std::set<std::pair<std::string, int64_t>> counted_;  // (detector, step)
  int64_t first_step_ = -1;
  std::string first_detector_;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_COLLAPSE_CONFIRMATION_H_
