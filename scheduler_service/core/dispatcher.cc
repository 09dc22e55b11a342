#include "scheduler_service/core/dispatcher.h"

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "scheduler_service/core/submission.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::config::v1::TrainerConfig;

// The fair-share group of an experiment: as submitted, else its sweep, else itself.
const std::string& QueueGroup(const v1::Experiment& experiment) {
  if (!experiment.fair_share_group().empty()) return experiment.fair_share_group();
  return experiment.sweep_id().empty() ? experiment.id() : experiment.sweep_id();
}

}  // namespace

Dispatcher::Dispatcher(absl::Mutex* mu, const common::Clock* clock, ExperimentRegistry* registry,
                       TrainerPool* pool, RunEvents* events, RunFollowers* followers)
    : mu_(mu),
      clock_(clock),
      registry_(registry),
      pool_(pool),
      events_(events),
      followers_(followers) {}

Dispatcher::~Dispatcher() { Join(); }

void Dispatcher::Start() { thread_ = std::thread(&Dispatcher::Loop, this); }

void Dispatcher::Join() {
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::EnqueueLocked(const std::string& run_id, bool front) {
  ExperimentRegistry::Entry* entry = nullptr;
  if (registry_->FindRun(run_id, &entry) == nullptr) return;
  const v1::Experiment& experiment = entry->experiment;
  if (front) {
    queue_.PushFront(run_id, experiment.priority(), QueueGroup(experiment));
  } else {
    queue_.Push(run_id, experiment.priority(), QueueGroup(experiment));
  }
}

void Dispatcher::SlotFreedLocked() {
  dispatch_now_ = true;
  pool_->ResetBackoff();
}

void Dispatcher::Loop() {
  mu_->Lock();
  while (true) {
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || followers_->HasFinishedLocked() || (!queue_.empty() && dispatch_now_);
    };
    // An empty queue waits for news only; a refused run also for the end of its backoff.
    clock_->AwaitWithDeadline(mu_, absl::Condition(&ready),
                              queue_.empty() ? absl::InfiniteFuture() : next_dispatch_);
    if (stopping_) break;
    if (followers_->HasFinishedLocked()) {
      mu_->Unlock();
      followers_->JoinFinished();
      mu_->Lock();
      continue;
    }
    if (queue_.empty()) continue;
    if (!dispatch_now_ && clock_->Now() < next_dispatch_) continue;
    dispatch_now_ = false;
    std::string run_id = *queue_.Pop();
    dispatching_ = true;
    mu_->Unlock();
    DispatchOne(run_id);
    mu_->Lock();
    dispatching_ = false;
  }
  mu_->Unlock();
}

void Dispatcher::DispatchOne(const std::string& run_id) {
  std::string experiment_id;
  std::string sweep_id;
  TrainerConfig config;
  std::string config_hash;
  v1::Experiment legacy;  // a run stored before RunRecord.config: rebuilt from its experiment
  int64_t seed = 0;
  bool resume = false;
  std::vector<size_t> order;
  std::set<std::string> full;
  {
    absl::MutexLock lock(mu_);
    ExperimentRegistry::Entry* entry = nullptr;
    RunRecord* run = registry_->FindRun(run_id, &entry);
    if (run == nullptr || run->state() != RunState::RUN_STATE_QUEUED || !run->trainer().empty()) {
      dispatch_now_ = true;  // nothing to do for this one: go on with the next
      return;
    }
    experiment_id = entry->experiment.id();
    sweep_id = entry->experiment.sweep_id();
    if (run->has_config()) {
      config = run->config();
      config_hash = run->config_hash();
    } else {
      legacy = entry->experiment;
    }
    seed = run->seed();
    resume = run->attempts() > 0;
    order = pool_->OfferOrder(run->resume_trainer());
    full = pool_->AtCapacity(registry_->ActiveRunsByTrainer());
  }
  if (!legacy.id().empty()) {
    absl::StatusOr<TrainerConfig> rebuilt = RunConfig(legacy, seed);
    if (!rebuilt.ok()) {
      events_->FailRun(
          run_id, absl::StrCat("cannot rebuild the run's config: ", rebuilt.status().message()));
      return;
    }
    config = *std::move(rebuilt);
  }
  std::map<std::string, std::string> labels = {{"experiment", experiment_id},
                                               {"seed", absl::StrCat(seed)}};
  if (!sweep_id.empty()) labels["sweep"] = sweep_id;

  // The trainer list never changes, so it is read without mu_.
  const std::vector<std::shared_ptr<TrainerClient>>& trainers = pool_->trainers();
  std::shared_ptr<TrainerClient> chosen;
  size_t chosen_index = 0;
  std::vector<std::string> refusals;
  for (const size_t index : order) {
    const std::shared_ptr<TrainerClient>& trainer = trainers[index];
    if (full.count(trainer->address()) > 0) {
      refusals.push_back(absl::StrCat(trainer->address(), ": at its --trainers capacity"));
      continue;
    }
    absl::Status status =
        trainer->StartRun(run_id, experiment_id, config, config_hash, labels, resume);
    if (absl::IsAlreadyExists(status) && resume) {
      // The trainer still has an earlier attempt: adopt it if it is running or finished with a
      // result; if it is still winding down (cancelled, not yet exited), wait for it rather
      // than start a second copy elsewhere.
      absl::StatusOr<TrainerClient::Run> there = trainer->GetRun(run_id);
      const bool ended_without_result =
          there.ok() && (there->state() == RunState::RUN_STATE_FAILED ||
                         there->state() == RunState::RUN_STATE_CANCELLED);
      if (there.ok() && !ended_without_result && !there->cancel_requested()) {
        chosen = trainer;
        chosen_index = index;
        break;
      }
      refusals.push_back(
          absl::StrCat(trainer->address(), ": the previous attempt is still ending"));
      break;
    }
    // AlreadyExists: an earlier attempt reached the trainer before we could record it.
    if (status.ok() || absl::IsAlreadyExists(status)) {
      chosen = trainer;
      chosen_index = index;
      break;
    }
    if (IsRetryableTrainerError(status)) {
      refusals.push_back(absl::StrCat(trainer->address(), ": ", status.ToString()));
      continue;
    }
    events_->FailRun(run_id, absl::StrCat("trainer ", trainer->address(),
                                          " rejected the run: ", status.ToString()));
    return;
  }

  std::shared_ptr<TrainerClient> cancel_on;
  {
    absl::MutexLock lock(mu_);
    ExperimentRegistry::Entry* entry = nullptr;
    RunRecord* run = registry_->FindRun(run_id, &entry);
    if (run == nullptr) return;
    if (chosen == nullptr) {
      // Every trainer is full or down: keep the run at the head of the queue and back off.
      if (run->state() == RunState::RUN_STATE_QUEUED) EnqueueLocked(run_id, /*front=*/true);
      next_dispatch_ = clock_->Now() + pool_->Refused();
      VLOG(1) << "no trainer took run " << run_id << ": " << absl::StrJoin(refusals, "; ");
      return;
    }
    pool_->Accepted(chosen_index);
    dispatch_now_ = true;
    if (run->state() != RunState::RUN_STATE_QUEUED) {
      cancel_on = chosen;  // cancelled while StartRun was in flight
    } else {
      run->set_trainer(chosen->address());
      run->set_state(RunState::RUN_STATE_RUNNING);
      run->set_message("");
      run->set_attempts(run->attempts() + 1);
      registry_->Commit(*entry, /*persist=*/true);
      followers_->StartLocked(run_id, chosen);
      LOG(INFO) << "run " << run_id << " dispatched to " << chosen->address()
                << (resume ? absl::StrCat(" (attempt ", run->attempts(), ", resuming)") : "");
    }
  }
  if (cancel_on != nullptr) {
    absl::Status status = cancel_on->CancelRun(run_id);
    if (!status.ok()) {
      LOG(WARNING) << "cancel run " << run_id << " on " << cancel_on->address() << ": " << status;
    }
  }
}

}  // namespace jepalab::scheduler
