#include "scheduler_service/core/run_events.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "scheduler_service/core/experiment_state.h"

namespace jepalab::scheduler {

using ::jepalab::common::v1::RunState;

RunEvents::RunEvents(absl::Mutex* mu, const common::Clock* clock, ExperimentRegistry* registry,
                     int max_attempts, Listener* listener)
    : mu_(mu),
      clock_(clock),
      registry_(registry),
      max_attempts_(max_attempts),
      listener_(listener) {}

RunRecord* RunEvents::CurrentLocked(const std::string& run_id, int32_t attempt,
                                    ExperimentRegistry::Entry** entry) {
  RunRecord* run = registry_->FindRun(run_id, entry);
  if (run == nullptr || common::IsTerminal(run->state()) || run->attempts() != attempt) {
    return nullptr;
  }
  return run;
}

void RunEvents::ApplyEventLocked(const std::string& run_id, int32_t attempt,
                                 const TrainerClient::RunEvent& event, RunProgress* progress) {
  ExperimentRegistry::Entry* entry = nullptr;
  RunRecord* run = CurrentLocked(run_id, attempt, &entry);
  if (run == nullptr) return;
  if (progress != nullptr) progress->Note(event, clock_->Now());
  bool persist = false;
  switch (event.kind_case()) {
    case TrainerClient::RunEvent::kStateChange: {
      const RunState state = event.state_change().state();
      if (state == RunState::RUN_STATE_UNSPECIFIED) return;
      if (event.state_change().retryable() && common::IsTerminal(state)) {
        RetryRunLocked(*entry, run, event.state_change().message());
        return;
      }
      persist = state != run->state() || event.state_change().message() != run->message();
      run->set_state(state);
      run->set_message(event.state_change().message());
      KeepCollapseStopMessage(*run);
      break;
    }
    case TrainerClient::RunEvent::kProgress:
      *run->mutable_progress() = event.progress();
      break;
    default:
      return;
  }
  if (common::IsTerminal(run->state())) {
    RunEndedLocked(*run);
    LOG(INFO) << "run " << run_id << " ended " << common::v1::RunState_Name(run->state())
              << (run->message().empty() ? "" : ": ") << run->message();
  }
  registry_->Commit(*entry, persist);
}

void RunEvents::ApplyRun(const std::string& run_id, int32_t attempt,
                         const TrainerClient::Run& trainer_run) {
  absl::MutexLock lock(mu_);
  ExperimentRegistry::Entry* entry = nullptr;
  RunRecord* run = CurrentLocked(run_id, attempt, &entry);
  if (run == nullptr) return;
  if (trainer_run.retryable() && common::IsTerminal(trainer_run.state())) {
    RetryRunLocked(*entry, run, trainer_run.message());
    return;
  }
  const bool persist = trainer_run.state() != run->state();
  if (trainer_run.state() != RunState::RUN_STATE_UNSPECIFIED) run->set_state(trainer_run.state());
  run->set_message(trainer_run.message());
  KeepCollapseStopMessage(*run);
  *run->mutable_progress() = trainer_run.progress();
  if (common::IsTerminal(run->state())) RunEndedLocked(*run);
  registry_->Commit(*entry, persist);
}

void RunEvents::FailRun(const std::string& run_id, const std::string& message) {
  absl::MutexLock lock(mu_);
  ExperimentRegistry::Entry* entry = nullptr;
  RunRecord* run = registry_->FindRun(run_id, &entry);
  if (run == nullptr || common::IsTerminal(run->state())) return;
  LOG(ERROR) << "run " << run_id << " failed: " << message;
  run->set_state(RunState::RUN_STATE_FAILED);
  run->set_message(message);
  RunEndedLocked(*run);
  registry_->Commit(*entry, /*persist=*/true);
}

void RunEvents::RetryRun(const std::string& run_id, int32_t attempt, const std::string& reason) {
  absl::MutexLock lock(mu_);
  ExperimentRegistry::Entry* entry = nullptr;
  RunRecord* run = CurrentLocked(run_id, attempt, &entry);
  if (run == nullptr) return;
  RetryRunLocked(*entry, run, reason);
}

void RunEvents::RetryRunLocked(ExperimentRegistry::Entry& entry, RunRecord* run,
                               const std::string& reason) {
  const std::string run_id = run->run_id();
  run->add_retry_reasons(
      absl::StrCat("attempt ", run->attempts(), " on ", run->trainer(), ": ", reason));
  // A cancelled experiment or a run stopped on collapse is not started again.
  const bool wanted = !IsTerminal(entry.experiment.state()) && !run->has_collapse_stop();
  if (!wanted || run->attempts() >= max_attempts_) {
    run->set_state(wanted ? RunState::RUN_STATE_FAILED : RunState::RUN_STATE_CANCELLED);
    run->set_message(
        wanted ? absl::StrCat("gave up after ", run->attempts(), " attempts; last: ", reason)
               : reason);
    KeepCollapseStopMessage(*run);
    LOG(ERROR) << "run " << run_id << " " << run->message();
    RunEndedLocked(*run);
    registry_->Commit(entry, /*persist=*/true);
    return;
  }
  LOG(WARNING) << "run " << run_id << ": retrying (attempt " << run->attempts() + 1 << " of "
               << max_attempts_ << "): " << reason;
  run->set_resume_trainer(run->trainer());
  run->set_trainer("");
  run->set_state(RunState::RUN_STATE_QUEUED);
  run->set_message(absl::StrCat("retrying after: ", reason));
  listener_->OnRetryLocked(run_id);
  registry_->Commit(entry, /*persist=*/true);
}

void RunEvents::RunEndedLocked(const RunRecord& run) {
  if (!run.trainer().empty()) listener_->OnRunEndedOnTrainerLocked();
}

}  // namespace jepalab::scheduler
