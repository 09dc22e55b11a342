#include "scheduler_service/core/testing/fake_trainer_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "config/trainer_config.h"
#include "proto/common_states.h"

namespace jepalab::scheduler::testing {
namespace {

using ::jepalab::common::IsTerminal;
using ::jepalab::common::v1::RunState;

TrainerClient::RunEvent StateEvent(const TrainerClient::Run& run) {
  TrainerClient::RunEvent event;
  event.set_run_id(run.run_id());
  event.mutable_state_change()->set_state(run.state());
  event.mutable_state_change()->set_message(run.message());
  event.mutable_state_change()->set_retryable(run.retryable());
  return event;
}

}  // namespace

FakeTrainerClient::FakeTrainerClient(std::string address, int capacity)
    : address_(std::move(address)), capacity_(capacity) {}

int FakeTrainerClient::ActiveRunsLocked() const {
  int active = 0;
  for (const auto& [id, run] : runs_) active += IsTerminal(run.run.state()) ? 0 : 1;
  return active;
}

void FakeTrainerClient::AppendEventLocked(FakeRun& run, RunEvent event) {
  event.set_run_id(run.run.run_id());
  event.set_sequence(static_cast<int64_t>(run.events.size()) + 1);
  run.events.push_back(std::move(event));
}

absl::Status FakeTrainerClient::StartRun(const std::string& run_id, const std::string& experiment,
                                         const ::jepalab::config::v1::TrainerConfig& config,
                                         const std::string& config_hash,
                                         const std::map<std::string, std::string>& labels,
                                         bool resume) {
  absl::MutexLock lock(&mu_);
  ++start_attempts_;
  if (!available_) return absl::UnavailableError(absl::StrCat(address_, " is down"));
  // As the real trainer (RunManager::StartRun): a config that does not hash as sent is refused.
  if (!config_hash.empty() && config_hash != ::jepalab::config::ConfigHash(config)) {
    return absl::InvalidArgumentError("config_hash: does not match the config");
  }
  bool restart = false;
  if (auto it = runs_.find(run_id); it != runs_.end()) {
    const RunState state = it->second.run.state();
    restart =
        resume && (state == RunState::RUN_STATE_FAILED || state == RunState::RUN_STATE_CANCELLED);
    if (!restart) return absl::AlreadyExistsError(absl::StrCat("run ", run_id));
  }
  if (ActiveRunsLocked() >= capacity_) {
    return absl::ResourceExhaustedError(absl::StrCat(address_, " is at max_concurrent_runs"));
  }
  FakeRun& run = runs_[run_id];
  if (restart) {
    ++run.resumed_starts;
    run.run.set_retryable(false);
    run.run.set_message("");
  }
  run.run.set_run_id(run_id);
  run.run.set_experiment(experiment);
  run.run.set_state(RunState::RUN_STATE_RUNNING);
  for (const auto& [key, value] : labels) (*run.run.mutable_labels())[key] = value;
  run.config = config;
  run.labels = labels;
  started_.push_back(run_id);
  return absl::OkStatus();
}

absl::Status FakeTrainerClient::CancelRun(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  if (!available_) return absl::UnavailableError(absl::StrCat(address_, " is down"));
  cancel_requests_.push_back(run_id);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return absl::NotFoundError(absl::StrCat("run ", run_id));
  if (IsTerminal(it->second.run.state())) {
    return absl::FailedPreconditionError(absl::StrCat("run ", run_id, " already finished"));
  }
  it->second.run.set_state(RunState::RUN_STATE_CANCELLED);
  it->second.run.set_message("cancelled by request");
  AppendEventLocked(it->second, StateEvent(it->second.run));
  return absl::OkStatus();
}

absl::StatusOr<TrainerClient::Run> FakeTrainerClient::GetRun(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  if (!available_) return absl::UnavailableError(absl::StrCat(address_, " is down"));
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return absl::NotFoundError(absl::StrCat("run ", run_id));
  return it->second.run;
}

absl::Status FakeTrainerClient::WatchRun(const std::string& run_id, const EventCallback& on_event,
                                         CancelToken* cancel) {
  std::vector<RunEvent> batch;
  size_t next = 0;
  int64_t break_generation = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!available_) return absl::UnavailableError(absl::StrCat(address_, " is down"));
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return absl::NotFoundError(absl::StrCat("run ", run_id));
    FakeRun& run = it->second;
    // Like the real trainer: the current state first, then what happens next.
    batch.push_back(StateEvent(run.run));
    if (run.run.has_progress()) {
      RunEvent progress;
      progress.set_run_id(run_id);
      *progress.mutable_progress() = run.run.progress();
      batch.push_back(progress);
    }
    next = run.events.size();
    break_generation = break_generation_;
    ++run.open_watches;
  }
  cancel->SetOnCancel([this] {
    absl::MutexLock lock(&mu_);
    ++cancel_wakeups_;  // releasing mu_ re-evaluates the waiters' conditions
  });
  absl::Status result = absl::OkStatus();
  bool done = false;
  while (!done) {
    for (const RunEvent& event : batch) {
      on_event(event);
      if (event.has_state_change() && IsTerminal(event.state_change().state())) done = true;
    }
    batch.clear();
    if (done) break;
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (cancel->cancelled() || !available_ || break_generation_ != break_generation) return true;
      auto it = runs_.find(run_id);
      return it == runs_.end() || it->second.events.size() > next;
    };
    mu_.Await(absl::Condition(&ready));
    auto it = runs_.find(run_id);
    if (cancel->cancelled()) {
      result = absl::CancelledError("watch cancelled");
      done = true;
    } else if (it == runs_.end()) {
      result = absl::NotFoundError(absl::StrCat("run ", run_id));
      done = true;
    } else if (!available_ || break_generation_ != break_generation) {
      result = absl::UnavailableError("stream broken");
      done = true;
    } else {
      batch.assign(it->second.events.begin() + next, it->second.events.end());
      next = it->second.events.size();
    }
  }
  cancel->ClearOnCancel();
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it != runs_.end()) --it->second.open_watches;
  return result;
}

void FakeTrainerClient::SetCapacity(int capacity) {
  absl::MutexLock lock(&mu_);
  capacity_ = capacity;
}

void FakeTrainerClient::SetAvailable(bool available) {
  absl::MutexLock lock(&mu_);
  available_ = available;
}

void FakeTrainerClient::AddRun(const Run& run) {
  absl::MutexLock lock(&mu_);
  runs_[run.run_id()].run = run;
}

void FakeTrainerClient::EmitProgress(const std::string& run_id, int64_t step, int64_t total_steps) {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  it->second.run.mutable_progress()->set_step(step);
  it->second.run.mutable_progress()->set_total_steps(total_steps);
  RunEvent event;
  *event.mutable_progress() = it->second.run.progress();
  AppendEventLocked(it->second, std::move(event));
}

void FakeTrainerClient::Finish(const std::string& run_id, ::jepalab::common::v1::RunState state,
                               const std::string& message) {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  it->second.run.set_state(state);
  it->second.run.set_message(message);
  AppendEventLocked(it->second, StateEvent(it->second.run));
}

void FakeTrainerClient::Interrupt(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  it->second.run.set_state(RunState::RUN_STATE_FAILED);
  it->second.run.set_message("interrupted: trainer_server restarted");
  it->second.run.set_retryable(true);
  RunEvent event = StateEvent(it->second.run);
  event.mutable_state_change()->set_retryable(true);
  AppendEventLocked(it->second, std::move(event));
}

void FakeTrainerClient::ForgetRun(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  runs_.erase(run_id);
}

void FakeTrainerClient::BreakWatches() {
  absl::MutexLock lock(&mu_);
  ++break_generation_;
}

bool FakeTrainerClient::WaitForStarted(const std::string& run_id, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto started = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const std::string& id : started_) {
      if (id == run_id) return true;
    }
    return false;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&started), timeout);
}

bool FakeTrainerClient::WaitForStartedRuns(int count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return started_.size() >= static_cast<size_t>(count);
  };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

bool FakeTrainerClient::WaitForStartAttempts(int count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return start_attempts_ >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

bool FakeTrainerClient::WaitForWatchers(const std::string& run_id, int count,
                                        absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = runs_.find(run_id);
    return it != runs_.end() && it->second.open_watches >= count;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

std::vector<std::string> FakeTrainerClient::started_run_ids() const {
  absl::MutexLock lock(&mu_);
  return started_;
}

std::vector<std::string> FakeTrainerClient::cancel_requests() const {
  absl::MutexLock lock(&mu_);
  return cancel_requests_;
}

int FakeTrainerClient::resumed_starts(const std::string& run_id) const {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  return it == runs_.end() ? 0 : it->second.resumed_starts;
}

int FakeTrainerClient::start_attempts() const {
  absl::MutexLock lock(&mu_);
  return start_attempts_;
}

absl::StatusOr<::jepalab::config::v1::TrainerConfig> FakeTrainerClient::StartedConfig(
    const std::string& run_id) const {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return absl::NotFoundError(run_id);
  return it->second.config;
}

absl::StatusOr<std::map<std::string, std::string>> FakeTrainerClient::StartedLabels(
    const std::string& run_id) const {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return absl::NotFoundError(run_id);
  return it->second.labels;
}

}  // namespace jepalab::scheduler::testing
