#include "scheduler_service/core/run_progress.h"

namespace jepalab::scheduler {

bool RunProgress::Note(const TrainerClient::RunEvent& event, absl::Time now) {
  bool moved = false;
  if (event.has_progress() && event.progress().step() != last_step_) {
    last_step_ = event.progress().step();
    moved = true;
  }
  if (event.has_state_change() && event.state_change().state() != last_state_) {
    last_state_ = event.state_change().state();
    moved = true;
  }
  if (moved) last_progress_ = now;
  return moved;
}

}  // namespace jepalab::scheduler
