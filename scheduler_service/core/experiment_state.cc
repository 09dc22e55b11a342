#include "scheduler_service/core/experiment_state.h"

#include "absl/strings/str_cat.h"

namespace jepalab::scheduler {

using ::jepalab::common::v1::RunState;

ExperimentState ComputeExperimentState(const v1::Experiment& experiment) {
  // A terminal experiment (in particular a cancelled one) stays as it is.
  if (IsTerminal(experiment.state())) return experiment.state();
  bool all_ended = experiment.runs_size() > 0;
  bool any_failed = false, any_cancelled = false, any_dispatched = false;
  for (const RunRecord& run : experiment.runs()) {
    const bool ended = common::IsTerminal(run.state());
    all_ended = all_ended && ended;
    any_dispatched = any_dispatched || ended || !run.trainer().empty() || run.attempts() > 0;
    // A run stopped on a confirmed collapse ended badly, like a DIVERGED one; it was not
    // cancelled by anyone.
    const bool collapse_stopped =
        run.state() == RunState::RUN_STATE_CANCELLED && run.has_collapse_stop();
    any_failed = any_failed || run.state() == RunState::RUN_STATE_FAILED ||
                 run.state() == RunState::RUN_STATE_DIVERGED || collapse_stopped;
    any_cancelled =
        any_cancelled || (run.state() == RunState::RUN_STATE_CANCELLED && !collapse_stopped);
  }
  if (all_ended) {
    if (any_failed) return ExperimentState::EXPERIMENT_STATE_FAILED;
    // Runs cancelled behind the scheduler's back (directly on the trainer).
    if (any_cancelled) return ExperimentState::EXPERIMENT_STATE_CANCELLED;
    return ExperimentState::EXPERIMENT_STATE_SUCCEEDED;
  }
  return any_dispatched ? ExperimentState::EXPERIMENT_STATE_RUNNING
                        : ExperimentState::EXPERIMENT_STATE_QUEUED;
}

bool IsExperimentFinished(const v1::Experiment& experiment) {
  if (!IsTerminal(experiment.state())) return false;
  for (const RunRecord& run : experiment.runs()) {
    if (!common::IsTerminal(run.state())) return false;
  }
  return true;
}

std::string CollapseStopMessage(const v1::CollapseStop& stop) {
  return absl::StrCat("stopped: collapsed (", stop.indicator(), ") at step ", stop.step());
}

void KeepCollapseStopMessage(RunRecord& run) {
  if (!run.has_collapse_stop()) return;
  if (common::IsTerminal(run.state()) && run.state() != RunState::RUN_STATE_CANCELLED) return;
  run.set_message(CollapseStopMessage(run.collapse_stop()));
}

}  // namespace jepalab::scheduler
