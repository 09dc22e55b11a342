#include "scheduler_service/core/scheduler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::scheduler::v1::Experiment;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction, restart and shutdown

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(const SchedulerOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data_dir: must not be empty");
  JEPALAB_RETURN_IF_ERROR(TrainerPool::Validate(options.trainers, options.trainer_capacity));
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_attempts: must be >= 1, got ", options.max_attempts));
  }
  if (options.max_queued_runs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_queued_runs: must be >= 1, got ", options.max_queued_runs));
  }
  JEPALAB_ASSIGN_OR_RETURN(std::unique_ptr<ExperimentStore> store,
                           ExperimentStore::Open(options.data_dir));
  JEPALAB_ASSIGN_OR_RETURN(std::vector<Experiment> stored, store->List());
  std::unique_ptr<Scheduler> scheduler(new Scheduler(options, std::move(store)));
  {
    absl::MutexLock lock(&scheduler->mu_);
    scheduler->ReloadLocked(std::move(stored));
  }
  scheduler->dispatcher_.Start();
  scheduler->followers_.StartHangMonitor();
  return scheduler;
}

Scheduler::Scheduler(const SchedulerOptions& options, std::unique_ptr<ExperimentStore> store)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : &system_clock_),
      registry_(std::move(store), clock_, options.progress_persist_interval),
      pool_(options.trainers, options.trainer_capacity, options.dispatch_backoff,
            options.max_dispatch_backoff),
      events_(&mu_, clock_, &registry_, options.max_attempts, this),
      collapse_(options.metrics == nullptr
                    ? nullptr
                    : std::make_unique<CollapseStopper>(&mu_, clock_, &registry_, &pool_,
                                                        options.metrics, options.poll_interval)),
      followers_(&mu_, clock_, &registry_, &events_, collapse_.get(),
                 RunFollowerOptions{options.poll_interval, options.trainer_lost_timeout,
                                    options.hang_timeout}),
      dispatcher_(&mu_, clock_, &registry_, &pool_, &events_, &followers_) {}

Scheduler::~Scheduler() { Shutdown(); }

void Scheduler::ReloadLocked(std::vector<Experiment> stored) {
  int requeued = 0, reattached = 0;
  for (Experiment& experiment : stored) {
    ExperimentRegistry::Entry& entry = registry_.Load(std::move(experiment));
    bool changed = false;
    for (RunRecord& run : *entry.experiment.mutable_runs()) {
      if (common::IsTerminal(run.state())) continue;
      if (run.trainer().empty()) {
        dispatcher_.EnqueueLocked(run.run_id(), /*front=*/false);
        ++requeued;
      } else if (std::shared_ptr<TrainerClient> trainer = pool_.Find(run.trainer())) {
        followers_.StartLocked(run.run_id(), std::move(trainer));
        ++reattached;
      } else {
        run.set_state(RunState::RUN_STATE_FAILED);
        run.set_message(absl::StrCat("trainer ", run.trainer(),
                                     " is no longer in --trainers; the run cannot be followed"));
        changed = true;
      }
    }
    registry_.Commit(entry, /*persist=*/changed);
  }
  if (dispatcher_.HasQueuedLocked()) dispatcher_.DispatchNowLocked();
  LOG(INFO) << "scheduler: loaded " << registry_.size() << " experiments from " << options_.data_dir
            << "; " << requeued << " queued runs, " << reattached << " running runs re-attached";
}

void Scheduler::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;  // no new submissions, watchers or dispatching
    dispatcher_.StopLocked();
    followers_.StopLocked();
    if (collapse_ != nullptr) collapse_->StopLocked();
  }
  followers_.CancelAll();
  dispatcher_.Join();
  followers_.Join();
}

// ---------------------------------------------------------------------------------------------
// Submission

absl::Status Scheduler::CheckRoomLocked(size_t new_runs) const {
  if (stopping_) return absl::UnavailableError("scheduler is shutting down");
  const size_t queued = dispatcher_.QueuedRunsLocked();
  if (queued + new_runs > static_cast<size_t>(options_.max_queued_runs)) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("queue full: %d runs queued, %d more would exceed max_queued_runs=%d",
                        queued, new_runs, options_.max_queued_runs));
  }
  return absl::OkStatus();
}

absl::Status Scheduler::AdmitLocked(const std::vector<Experiment>& experiments) {
  JEPALAB_RETURN_IF_ERROR(registry_.Admit(experiments));
  for (const Experiment& experiment : experiments) {
    for (const RunRecord& run : experiment.runs()) {
      dispatcher_.EnqueueLocked(run.run_id(), /*front=*/false);
    }
    // A higher priority may jump the queue: offer it now rather than after the backoff.
    if (experiment.runs_size() > 0) dispatcher_.DispatchNowLocked();
    LOG(INFO) << "queued experiment " << experiment.id() << ": " << experiment.runs_size()
              << " runs, config " << experiment.config_hash();
  }
  return absl::OkStatus();
}

absl::StatusOr<Experiment> Scheduler::SubmitExperiment(const v1::SubmitExperimentRequest& request) {
  JEPALAB_ASSIGN_OR_RETURN(ExperimentPlan plan,
                           PlanSubmission(request, /*have_metrics=*/options_.metrics != nullptr));
  absl::MutexLock lock(&mu_);
  JEPALAB_RETURN_IF_ERROR(CheckRoomLocked(plan.seeds.size()));
  JEPALAB_ASSIGN_OR_RETURN(int64_t sequence, registry_.NextSequence());
  Experiment experiment = BuildExperiment(plan, sequence, /*sweep_id=*/"", clock_->NowUnixMillis());
  JEPALAB_RETURN_IF_ERROR(AdmitLocked({experiment}));
  return experiment;
}

absl::StatusOr<SweepResult> Scheduler::SubmitSweep(const v1::SubmitSweepRequest& request) {
  JEPALAB_ASSIGN_OR_RETURN(SweepPlan sweep,
                           PlanSweep(request, /*have_metrics=*/options_.metrics != nullptr));
  absl::MutexLock lock(&mu_);
  JEPALAB_RETURN_IF_ERROR(CheckRoomLocked(sweep.total_runs));
  SweepResult result;
  JEPALAB_ASSIGN_OR_RETURN(int64_t sweep_sequence, registry_.NextSequence());
  result.sweep_id = ExperimentId(sweep.name, sweep_sequence);
  const int64_t now_ms = clock_->NowUnixMillis();
  for (const ExperimentPlan& plan : sweep.experiments) {
    JEPALAB_ASSIGN_OR_RETURN(int64_t sequence, registry_.NextSequence());
    result.experiments.push_back(BuildExperiment(plan, sequence, result.sweep_id, now_ms));
  }
  JEPALAB_RETURN_IF_ERROR(AdmitLocked(result.experiments));
  LOG(INFO) << "queued sweep " << result.sweep_id << ": " << result.experiments.size()
            << " experiments";
  return result;
}

// ---------------------------------------------------------------------------------------------
// Queries

absl::StatusOr<Experiment> Scheduler::GetExperiment(const std::string& id) const {
  JEPALAB_ASSIGN_OR_RETURN(ExperimentSnapshot snapshot, GetSnapshot(id));
  return std::move(snapshot.experiment);
}

std::vector<Experiment> Scheduler::ListExperiments(const std::vector<ExperimentState>& states,
                                                   const std::string& sweep_id) const {
  absl::MutexLock lock(&mu_);
  return registry_.List(states, sweep_id);
}

absl::StatusOr<ExperimentSnapshot> Scheduler::GetSnapshot(const std::string& id) const {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("id", id));
  absl::MutexLock lock(&mu_);
  const ExperimentRegistry::Entry* entry = registry_.Find(id);
  if (entry == nullptr) return absl::NotFoundError(absl::StrCat("experiment ", id, " not found"));
  return ExperimentSnapshot{entry->experiment, entry->version,
                            IsExperimentFinished(entry->experiment)};
}

absl::StatusOr<ExperimentSnapshot> Scheduler::WaitForChange(const std::string& id,
                                                            int64_t after_version,
                                                            absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  const ExperimentRegistry::Entry* entry = registry_.Find(id);  // entries are never erased
  if (entry == nullptr) return absl::NotFoundError(absl::StrCat("experiment ", id, " not found"));
  auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || entry->version > after_version;
  };
  // The caller's deadline is real time (an RPC deadline), not the scheduler's clock.
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  if (stopping_) return absl::UnavailableError("scheduler is shutting down");
  return ExperimentSnapshot{entry->experiment, entry->version,
                            IsExperimentFinished(entry->experiment)};
}

// ---------------------------------------------------------------------------------------------
// Cancellation

absl::StatusOr<Experiment> Scheduler::CancelExperiment(const std::string& id) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("id", id));
  std::vector<std::pair<std::shared_ptr<TrainerClient>, std::string>> to_cancel;
  {
    absl::MutexLock lock(&mu_);
    ExperimentRegistry::Entry* entry = registry_.Find(id);
    if (entry == nullptr) {
      return absl::NotFoundError(absl::StrCat("experiment ", id, " not found"));
    }
    Experiment& experiment = entry->experiment;
    if (IsTerminal(experiment.state())) {
      return absl::FailedPreconditionError(
          absl::StrCat("experiment ", id, " already finished (",
                       v1::ExperimentState_Name(experiment.state()), ")"));
    }
    for (RunRecord& run : *experiment.mutable_runs()) {
      if (common::IsTerminal(run.state())) continue;
      if (run.trainer().empty()) {
        // Not on a trainer (possibly being dispatched right now: DispatchOne checks again).
        dispatcher_.RemoveLocked(run.run_id());
        run.set_state(RunState::RUN_STATE_CANCELLED);
        run.set_message("cancelled before dispatch");
      } else if (std::shared_ptr<TrainerClient> trainer = pool_.Find(run.trainer())) {
        to_cancel.emplace_back(std::move(trainer), run.run_id());
      }
    }
    experiment.set_state(ExperimentState::EXPERIMENT_STATE_CANCELLED);
    experiment.set_finished_unix_ms(clock_->NowUnixMillis());
    registry_.Commit(*entry, /*persist=*/true);
    LOG(INFO) << "cancelled experiment " << id << "; " << to_cancel.size()
              << " running runs asked to stop";
  }
  // RPCs without mu_; each run's watcher records its final CANCELLED state.
  for (const auto& [trainer, run_id] : to_cancel) {
    absl::Status status = trainer->CancelRun(run_id);
    if (!status.ok() && !absl::IsNotFound(status) && !absl::IsFailedPrecondition(status)) {
      LOG(WARNING) << "cancel run " << run_id << " on " << trainer->address() << ": " << status;
    }
  }
  return GetExperiment(id);
}

// ---------------------------------------------------------------------------------------------
// How a run's end or retry reaches dispatch and following

void Scheduler::OnRunEndedOnTrainerLocked() {
  // A run that ended on a trainer freed a slot: dispatch again without waiting out the backoff.
  dispatcher_.SlotFreedLocked();
}

void Scheduler::OnRetryLocked(const std::string& run_id) {
  // This attempt's watcher is on its way out: let the next attempt have its own.
  followers_.RetireLocked(run_id);
  dispatcher_.EnqueueLocked(run_id, /*front=*/true);  // it was first in line once already
  dispatcher_.DispatchNowLocked();
}

}  // namespace jepalab::scheduler
