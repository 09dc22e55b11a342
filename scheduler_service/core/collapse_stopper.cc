#include "scheduler_service/core/collapse_stopper.h"

#include <utility>

#include "common/logging.h"
#include "scheduler_service/core/collapse_confirmation.h"
#include "scheduler_service/core/experiment_state.h"

namespace jepalab::scheduler {

CollapseStopper::CollapseStopper(absl::Mutex* mu, const common::Clock* clock,
                                 ExperimentRegistry* registry, const TrainerPool* pool,
                                 std::shared_ptr<MetricsClient> metrics,
                                 absl::Duration poll_interval)
    : mu_(mu),
      clock_(clock),
      registry_(registry),
      pool_(pool),
      metrics_(std::move(metrics)),
      poll_interval_(poll_interval) {}

void CollapseStopper::Follow(const std::string& run_id, const v1::StopOnCollapsePolicy& policy,
                             CancelToken* cancel) {
  CollapseConfirmation confirmation(run_id, policy);
  auto on_event = [&](const ::jepalab::metrics::v1::CollapseEvent& event) {
    if (!confirmation.Add(event)) return;
    Stop(run_id, confirmation.first_step(), confirmation.first_detector());
    cancel->Cancel();  // done: ends this watch
  };
  bool warned = false;
  while (!cancel->cancelled()) {
    absl::Status status = metrics_->WatchCollapseEvents({run_id}, on_event, cancel);
    if (cancel->cancelled()) break;
    if (!warned) {
      LOG(WARNING) << "collapse events of run " << run_id << ": " << status << "; retrying every "
                   << poll_interval_;
      warned = true;
    }
    absl::MutexLock lock(mu_);
    auto stop = [this, cancel]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || cancel->cancelled(); };
    clock_->AwaitWithTimeout(mu_, absl::Condition(&stop), poll_interval_);
  }
}

void CollapseStopper::Stop(const std::string& run_id, int64_t step, const std::string& indicator) {
  std::shared_ptr<TrainerClient> trainer;
  {
    absl::MutexLock lock(mu_);
    ExperimentRegistry::Entry* entry = nullptr;
    RunRecord* run = registry_->FindRun(run_id, &entry);
    if (run == nullptr || common::IsTerminal(run->state())) return;
    // Recorded before CancelRun, so the CANCELLED state that follows reads as a collapse stop.
    if (!run->has_collapse_stop()) {
      v1::CollapseStop* stop = run->mutable_collapse_stop();
      stop->set_step(step);
      stop->set_indicator(indicator);
      stop->set_unix_ms(clock_->NowUnixMillis());
      run->set_message(CollapseStopMessage(*stop));
      registry_->Commit(*entry, /*persist=*/true);
      LOG(INFO) << "run " << run_id << " " << run->message() << ": cancelling it on "
                << run->trainer();
    }
    trainer = pool_->Find(run->trainer());
  }
  if (trainer == nullptr) return;
  // A trainer that is down gets the cancel once it is back, unless the run has ended by then
  // (a retried run with a collapse stop is not started again).
  bool warned = false;
  while (true) {
    absl::Status status = trainer->CancelRun(run_id);
    if (status.ok() || absl::IsNotFound(status) || absl::IsFailedPrecondition(status)) return;
    if (!IsRetryableTrainerError(status)) {
      LOG(WARNING) << "cancel collapsed run " << run_id << " on " << trainer->address() << ": "
                   << status;
      return;
    }
    LOG_IF(WARNING, !warned) << "cancel collapsed run " << run_id << " on " << trainer->address()
                             << ": " << status << "; retrying every " << poll_interval_;
    warned = true;
    absl::MutexLock lock(mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      ExperimentRegistry::Entry* entry = nullptr;
      const RunRecord* run = registry_->FindRun(run_id, &entry);
      return stopping_ || run == nullptr || common::IsTerminal(run->state()) ||
             run->trainer() != trainer->address();
    };
    if (clock_->AwaitWithTimeout(mu_, absl::Condition(&done), poll_interval_)) return;
  }
}

}  // namespace jepalab::scheduler
