// Hang detection for one followed run: remembers the last step and state seen and when either
// last moved, so a run without progress for the hang timeout can be told apart from a slow one.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_RUN_PROGRESS_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_RUN_PROGRESS_H_

#include <cstdint>

#include "absl/time/time.h"
#include "proto/common.pb.h"
#include "scheduler_service/core/trainer_client.h"

namespace jepalab::scheduler {

// Thread-compatible.
class RunProgress {
 public:
  // Following starts at `now`: that counts as progress.
  explicit RunProgress(absl::Time now) : last_progress_(now) {}

  // Records `event` seen at `now`; only a new step or a new state counts as progress (a
  // reconnect replays the current ones). Returns whether it did.
  bool Note(const TrainerClient::RunEvent& event, absl::Time now);
  // No progress for at least `timeout` by `now`.
  bool StalledFor(absl::Duration timeout, absl::Time now) const {
    return now - last_progress_ >= timeout;
  }
  absl::Time last_progress() const { return last_progress_; }

 private:
  absl::Time last_progress_;
  int64_t last_step_ = -1;
  ::jepalab::common::v1::RunState last_state_ = ::jepalab::common::v1::RUN_STATE_UNSPECIFIED;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_RUN_PROGRESS_H_
