#include "scheduler_service/core/scheduler.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "config/sweep.h"
#include "config/trainer_config.h"

namespace jepalab::scheduler {

using ::jepalab::config::ConfigHash;
using ::jepalab::config::ExpandSweep;
using ::jepalab::config::LoadTrainerConfig;
using ::jepalab::config::ResolvedConfigYaml;
using ::jepalab::config::SweepPoint;
using ::jepalab::config::SweepSpec;
using ::jepalab::config::SweepSpecFromRequest;
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::config::v1::TrainerConfig;
using ::jepalab::scheduler::v1::Experiment;

constexpr size_t kMaxNameLength = 64;  // scheduler.proto: name is [A-Za-z0-9._-]{1,64}
constexpr char kDefaultExperimentName[] = "experiment";

std::string ExperimentId(const std::string& name, int64_t sequence) {
  return absl::StrFormat("%s-%04d", name, sequence);
}

std::string RunId(const std::string& experiment_id, int64_t seed) {
  return absl::StrCat(experiment_id, "-s", seed);
}

absl::Status ValidateName(absl::string_view field, const std::string& name) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId(field, name));
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: must be at most %d characters, got %d",
                                                      field, kMaxNameLength, name.size()));
  }
  return absl::OkStatus();
}

// Prefixes context, keeping the code (STYLE.md §3).
absl::Status WithContext(const absl::Status& status, absl::string_view context) {
  return absl::Status(status.code(), absl::StrCat(context, status.message()));
}

ExperimentState ComputeState(const Experiment& experiment) {
  // A terminal experiment (in particular a cancelled one) stays as it is.
  if (IsTerminalExperimentState(experiment.state())) return experiment.state();
  bool all_ended = experiment.runs_size() > 0;
  bool any_failed = false, any_cancelled = false, any_dispatched = false;
  for (const RunRecord& run : experiment.runs()) {
    const bool ended = IsTerminalRunState(run.state());
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

bool IsFinished(const Experiment& experiment) {
  if (!IsTerminalExperimentState(experiment.state())) return false;
  for (const RunRecord& run : experiment.runs()) {
    if (!IsTerminalRunState(run.state())) return false;
  }
  return true;
}

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

// Keeps the collapse stop's message over the trainer's own ("cancelled by request").
void KeepCollapseStopMessage(RunRecord& run) {
  if (!run.has_collapse_stop()) return;
  if (IsTerminalRunState(run.state()) && run.state() != RunState::RUN_STATE_CANCELLED) return;
  run.set_message(CollapseStopMessage(run.collapse_stop()));
}

bool IsRetryableStartError(const absl::Status& status) {
  return absl::IsResourceExhausted(status) || absl::IsUnavailable(status) ||
         absl::IsDeadlineExceeded(status);
}

}  // namespace

std::string CollapseStopMessage(const v1::CollapseStop& stop) {
  return absl::StrCat("stopped: collapsed (", stop.indicator(), ") at step ", stop.step());
}

bool IsTerminalRunState(RunState state) {
  return state == RunState::RUN_STATE_SUCCEEDED || state == RunState::RUN_STATE_EARLY_STOPPED ||
         state == RunState::RUN_STATE_DIVERGED || state == RunState::RUN_STATE_FAILED ||
         state == RunState::RUN_STATE_CANCELLED;
}

bool IsTerminalExperimentState(ExperimentState state) {
  return state == ExperimentState::EXPERIMENT_STATE_SUCCEEDED ||
         state == ExperimentState::EXPERIMENT_STATE_FAILED ||
         state == ExperimentState::EXPERIMENT_STATE_CANCELLED;
}

// ---------------------------------------------------------------------------------------------
// Construction and restart

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(const SchedulerOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data_dir: must not be empty");
  if (options.trainers.empty()) {
    return absl::InvalidArgumentError("trainers: at least one trainer is required");
  }
  std::set<std::string> addresses;
  for (const auto& trainer : options.trainers) {
    if (trainer == nullptr) return absl::InvalidArgumentError("trainers: null trainer client");
    if (!addresses.insert(trainer->address()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("trainers: duplicate address ", trainer->address()));
    }
  }
  for (const auto& [address, capacity] : options.trainer_capacity) {
    if (addresses.count(address) == 0 || capacity < 1) {
      return absl::InvalidArgumentError(absl::StrCat("trainer_capacity: ", address, "=", capacity,
                                                     " (must name a trainer and be >= 1)"));
    }
  }
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
    int requeued = 0, reattached = 0;
    for (Experiment& experiment : stored) {
      const std::string id = experiment.id();
      Entry& entry = scheduler->experiments_[id];
      entry.experiment = std::move(experiment);
      scheduler->order_.push_back(id);
      bool changed = false;
      for (int i = 0; i < entry.experiment.runs_size(); ++i) {
        RunRecord* run = entry.experiment.mutable_runs(i);
        scheduler->runs_[run->run_id()] = RunRef{id, i};
        if (IsTerminalRunState(run->state())) continue;
        if (run->trainer().empty()) {
          scheduler->EnqueueLocked(run->run_id(), /*front=*/false);
          ++requeued;
        } else if (std::shared_ptr<TrainerClient> trainer = scheduler->TrainerFor(run->trainer())) {
          scheduler->StartWatcherLocked(run->run_id(), std::move(trainer));
          ++reattached;
        } else {
          run->set_state(RunState::RUN_STATE_FAILED);
          run->set_message(absl::StrCat("trainer ", run->trainer(),
                                        " is no longer in --trainers; the run cannot be followed"));
          changed = true;
        }
      }
      scheduler->CommitLocked(entry, /*persist=*/changed);
    }
    scheduler->dispatch_now_ = !scheduler->queue_.empty();
    LOG(INFO) << "scheduler: loaded " << scheduler->order_.size() << " experiments from "
              << options.data_dir << "; " << requeued << " queued runs, " << reattached
              << " running runs re-attached";
  }
  scheduler->dispatcher_ = std::thread(&Scheduler::DispatchLoop, scheduler.get());
  scheduler->hang_monitor_ = std::thread(&Scheduler::HangMonitorLoop, scheduler.get());
  return scheduler;
}

Scheduler::Scheduler(const SchedulerOptions& options, std::unique_ptr<ExperimentStore> store)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : &system_clock_),
      store_(std::move(store)),
      backoff_(options.dispatch_backoff) {}

Scheduler::~Scheduler() { Shutdown(); }

void Scheduler::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  std::vector<std::shared_ptr<Watcher>> to_join;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;  // no new watchers, no more dispatching
    for (auto& [run_id, watcher] : watchers_) to_join.push_back(watcher);
    watchers_.clear();
    for (auto& watcher : finished_watchers_) to_join.push_back(watcher);
    finished_watchers_.clear();
  }
  // Only our watches end: the runs go on on their trainers (re-attached on restart).
  for (auto& watcher : to_join) {
    watcher->cancel.Cancel();
    watcher->collapse_cancel.Cancel();
  }
  if (dispatcher_.joinable()) dispatcher_.join();
  if (hang_monitor_.joinable()) hang_monitor_.join();
  for (auto& watcher : to_join) {
    if (watcher->thread.joinable()) watcher->thread.join();
    if (watcher->collapse_thread.joinable()) watcher->collapse_thread.join();
  }
}

// ---------------------------------------------------------------------------------------------
// Submission

absl::StatusOr<Scheduler::Plan> Scheduler::PlanExperiment(
    const std::string& name, const std::string& config_yaml, const std::string& config_path,
    const std::vector<std::string>& overrides, const std::vector<int64_t>& requested_seeds) const {
  JEPALAB_RETURN_IF_ERROR(ValidateName("name", name));
  if (config_yaml.empty()) return absl::InvalidArgumentError("config_yaml: must not be empty");
  const std::string source = config_path.empty() ? "<request>" : config_path;
  absl::StatusOr<TrainerConfig> base = LoadTrainerConfig(config_yaml, source, overrides);
  if (!base.ok()) return absl::InvalidArgumentError(base.status().message());

  Plan plan;
  plan.name = name;
  plan.overrides = overrides;
  plan.seeds = requested_seeds;
  if (plan.seeds.empty()) plan.seeds.push_back(base->seed());
  std::set<int64_t> seen;
  for (int64_t seed : plan.seeds) {
    if (!seen.insert(seed).second) {
      return absl::InvalidArgumentError(absl::StrCat("seeds: duplicate seed ", seed));
    }
    // Each run's own config must load too, so nothing invalid is ever queued.
    std::vector<std::string> run_overrides = overrides;
    run_overrides.push_back(absl::StrCat("seed=", seed));
    absl::StatusOr<TrainerConfig> run =
        LoadTrainerConfig(config_yaml, source, run_overrides);
    if (!run.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("seeds: ", seed, ": ", run.status().message()));
    }
  }
  plan.resolved_config_yaml = ResolvedConfigYaml(*base);
  plan.config_hash = ConfigHash(*base);
  return plan;
}

Experiment Scheduler::BuildExperiment(const Plan& plan, int64_t sequence,
                                      const std::string& config_yaml,
                                      const std::vector<std::string>& tags,
                                      const std::string& sweep_id, int64_t now_ms) const {
  Experiment experiment;
  experiment.set_id(ExperimentId(plan.name, sequence));
  experiment.set_name(plan.name);
  experiment.set_state(ExperimentState::EXPERIMENT_STATE_QUEUED);
  experiment.set_config_yaml(config_yaml);
  for (const std::string& override_text : plan.overrides) experiment.add_overrides(override_text);
  experiment.set_resolved_config_yaml(plan.resolved_config_yaml);
  experiment.set_config_hash(plan.config_hash);
  for (const std::string& tag : tags) experiment.add_tags(tag);
  experiment.set_created_unix_ms(now_ms);
  experiment.set_sweep_id(sweep_id);
  for (int64_t seed : plan.seeds) {
    RunRecord* run = experiment.add_runs();
    run->set_run_id(RunId(experiment.id(), seed));
    run->set_seed(seed);
    run->set_state(RunState::RUN_STATE_QUEUED);
  }
  return experiment;
}

absl::Status Scheduler::AdmitLocked(const std::vector<Experiment>& experiments) {
  JEPALAB_RETURN_IF_ERROR(store_->PutAll(experiments));
  for (const Experiment& experiment : experiments) {
    Entry& entry = experiments_[experiment.id()];
    entry.experiment = experiment;
    entry.version = 1;
    entry.last_persist = absl::Now();
    order_.push_back(experiment.id());
    for (int i = 0; i < experiment.runs_size(); ++i) {
      // A higher priority may jump the queue: offer it now rather than after the backoff.
      dispatch_now_ = true;
      runs_[experiment.runs(i).run_id()] = RunRef{experiment.id(), i};
      EnqueueLocked(experiment.runs(i).run_id(), /*front=*/false);
    }
    LOG(INFO) << "queued experiment " << experiment.id() << ": " << experiment.runs_size()
              << " runs, config " << experiment.config_hash();
  }
  return absl::OkStatus();
}

absl::Status ValidatePriority(int priority) {
  if (priority < -1000 || priority > 1000) {
    return absl::InvalidArgumentError(absl::StrCat("priority: must be in [-1000, 1000], got ", priority));
  }
  return absl::OkStatus();
}

namespace {

// The fair-share group of an experiment: as submitted, else its sweep, else itself.
const std::string& QueueGroup(const Experiment& experiment) {
  if (!experiment.fair_share_group().empty()) return experiment.fair_share_group();
  return experiment.sweep_id().empty() ? experiment.id() : experiment.sweep_id();
}

}  // namespace

void Scheduler::EnqueueLocked(const std::string& run_id, bool front) {
  Entry* entry = nullptr;
  if (FindRunLocked(run_id, &entry) == nullptr) return;
  const Experiment& experiment = entry->experiment;
  if (front) {
    queue_.PushFront(run_id, experiment.priority(), QueueGroup(experiment));
  } else {
    queue_.Push(run_id, experiment.priority(), QueueGroup(experiment));
  }
}

absl::Status Scheduler::ValidateStopOnCollapse(const v1::StopOnCollapsePolicy& policy) const {
  if (policy.confirm_events() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stop_on_collapse.confirm_events: must be >= 0, got ", policy.confirm_events()));
  }
  for (int i = 0; i < policy.indicators_size(); ++i) {
    if (policy.indicators(i).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stop_on_collapse.indicators[", i, "]: must not be empty"));
    }
  }
  if (policy.enabled() && options_.metrics == nullptr) {
    return absl::FailedPreconditionError(
        "stop_on_collapse.enabled: the scheduler has no metrics_service to watch collapse events");
  }
  return absl::OkStatus();
}

absl::StatusOr<Experiment> Scheduler::SubmitExperiment(const v1::SubmitExperimentRequest& request) {
  const std::string name = request.name().empty() ? kDefaultExperimentName : request.name();
  JEPALAB_ASSIGN_OR_RETURN(Plan plan,
                           PlanExperiment(name, request.config_yaml(), request.config_path(),
                                          {request.overrides().begin(), request.overrides().end()},
                                          {request.seeds().begin(), request.seeds().end()}));
  const std::vector<std::string> tags(request.tags().begin(), request.tags().end());
  JEPALAB_RETURN_IF_ERROR(ValidateStopOnCollapse(request.stop_on_collapse()));
  JEPALAB_RETURN_IF_ERROR(ValidatePriority(request.priority()));
  if (!request.fair_share_group().empty()) {
    JEPALAB_RETURN_IF_ERROR(common::ValidateId("fair_share_group", request.fair_share_group()));
  }

  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("scheduler is shutting down");
  if (QueuedRunsLocked() + plan.seeds.size() > static_cast<size_t>(options_.max_queued_runs)) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("queue full: %d runs queued, %d more would exceed max_queued_runs=%d",
                        QueuedRunsLocked(), plan.seeds.size(), options_.max_queued_runs));
  }
  JEPALAB_ASSIGN_OR_RETURN(int64_t sequence, store_->NextSequence());
  Experiment experiment = BuildExperiment(plan, sequence, request.config_yaml(), tags,
                                          /*sweep_id=*/"", NowMs());
  if (request.has_stop_on_collapse()) {
    *experiment.mutable_stop_on_collapse() = request.stop_on_collapse();
  }
  experiment.set_priority(request.priority());
  experiment.set_fair_share_group(request.fair_share_group());
  JEPALAB_RETURN_IF_ERROR(AdmitLocked({experiment}));
  return experiment;
}

absl::StatusOr<SweepResult> Scheduler::SubmitSweep(const v1::SubmitSweepRequest& request) {
  const SweepSpec spec = SweepSpecFromRequest(request);
  JEPALAB_RETURN_IF_ERROR(ValidateName("name", spec.name));
  JEPALAB_ASSIGN_OR_RETURN(std::vector<SweepPoint> points, ExpandSweep(spec));
  std::vector<Plan> plans;
  for (const SweepPoint& point : points) {
    absl::StatusOr<Plan> plan = PlanExperiment(point.name, request.config_yaml(),
                                               request.config_path(), point.overrides, point.seeds);
    if (!plan.ok()) return WithContext(plan.status(), absl::StrCat(point.field, ": "));
    plans.push_back(*std::move(plan));
  }
  JEPALAB_RETURN_IF_ERROR(ValidateStopOnCollapse(request.stop_on_collapse()));
  JEPALAB_RETURN_IF_ERROR(ValidatePriority(request.priority()));
  size_t total_runs = 0;
  for (const Plan& plan : plans) total_runs += plan.seeds.size();
  const std::vector<std::string> tags(request.tags().begin(), request.tags().end());

  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("scheduler is shutting down");
  if (QueuedRunsLocked() + total_runs > static_cast<size_t>(options_.max_queued_runs)) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("queue full: %d runs queued, %d more would exceed max_queued_runs=%d",
                        QueuedRunsLocked(), total_runs, options_.max_queued_runs));
  }
  SweepResult result;
  JEPALAB_ASSIGN_OR_RETURN(int64_t sweep_sequence, store_->NextSequence());
  result.sweep_id = ExperimentId(spec.name, sweep_sequence);
  const int64_t now_ms = NowMs();
  for (const Plan& plan : plans) {
    JEPALAB_ASSIGN_OR_RETURN(int64_t sequence, store_->NextSequence());
    result.experiments.push_back(
        BuildExperiment(plan, sequence, request.config_yaml(), tags, result.sweep_id, now_ms));
    if (request.has_stop_on_collapse()) {
      *result.experiments.back().mutable_stop_on_collapse() = request.stop_on_collapse();
    }
    result.experiments.back().set_priority(request.priority());
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
  std::vector<Experiment> result;
  for (const std::string& id : order_) {
    const Experiment& experiment = experiments_.at(id).experiment;
    if (!states.empty() &&
        std::find(states.begin(), states.end(), experiment.state()) == states.end()) {
      continue;
    }
    if (!sweep_id.empty() && experiment.sweep_id() != sweep_id) continue;
    result.push_back(experiment);
  }
  return result;
}

absl::StatusOr<ExperimentSnapshot> Scheduler::GetSnapshot(const std::string& id) const {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("id", id));
  absl::MutexLock lock(&mu_);
  auto it = experiments_.find(id);
  if (it == experiments_.end()) {
    return absl::NotFoundError(absl::StrCat("experiment ", id, " not found"));
  }
  return ExperimentSnapshot{it->second.experiment, it->second.version,
                            IsFinished(it->second.experiment)};
}

absl::StatusOr<ExperimentSnapshot> Scheduler::WaitForChange(const std::string& id,
                                                            int64_t after_version,
                                                            absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto it = experiments_.find(id);
  if (it == experiments_.end()) {
    return absl::NotFoundError(absl::StrCat("experiment ", id, " not found"));
  }
  const Entry* entry = &it->second;  // entries are never erased
  auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || entry->version > after_version;
  };
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  if (stopping_) return absl::UnavailableError("scheduler is shutting down");
  return ExperimentSnapshot{entry->experiment, entry->version, IsFinished(entry->experiment)};
}

// ---------------------------------------------------------------------------------------------
// Cancellation

absl::StatusOr<Experiment> Scheduler::CancelExperiment(const std::string& id) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("id", id));
  std::vector<std::pair<std::shared_ptr<TrainerClient>, std::string>> to_cancel;
  {
    absl::MutexLock lock(&mu_);
    auto it = experiments_.find(id);
    if (it == experiments_.end()) {
      return absl::NotFoundError(absl::StrCat("experiment ", id, " not found"));
    }
    Entry& entry = it->second;
    Experiment& experiment = entry.experiment;
    if (IsTerminalExperimentState(experiment.state())) {
      return absl::FailedPreconditionError(
          absl::StrCat("experiment ", id, " already finished (",
                       v1::ExperimentState_Name(experiment.state()), ")"));
    }
    for (RunRecord& run : *experiment.mutable_runs()) {
      if (IsTerminalRunState(run.state())) continue;
      if (run.trainer().empty()) {
        // Not on a trainer (possibly being dispatched right now: DispatchOne checks again).
        queue_.Remove(run.run_id());
        run.set_state(RunState::RUN_STATE_CANCELLED);
        run.set_message("cancelled before dispatch");
      } else if (std::shared_ptr<TrainerClient> trainer = TrainerFor(run.trainer())) {
        to_cancel.emplace_back(std::move(trainer), run.run_id());
      }
    }
    experiment.set_state(ExperimentState::EXPERIMENT_STATE_CANCELLED);
    experiment.set_finished_unix_ms(NowMs());
    CommitLocked(entry, /*persist=*/true);
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
// Dispatch

void Scheduler::DispatchLoop() {
  mu_.Lock();
  while (true) {
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || !finished_watchers_.empty() || (!queue_.empty() && dispatch_now_);
    };
    if (queue_.empty()) {
      mu_.Await(absl::Condition(&ready));
    } else {
      mu_.AwaitWithDeadline(absl::Condition(&ready), next_dispatch_);
    }
    if (stopping_) break;
    if (!finished_watchers_.empty()) {
      std::vector<std::shared_ptr<Watcher>> done;
      done.swap(finished_watchers_);
      mu_.Unlock();
      for (auto& watcher : done) {
        watcher->thread.join();
        // FollowRun cancelled it on its way out.
        if (watcher->collapse_thread.joinable()) watcher->collapse_thread.join();
      }
      mu_.Lock();
      continue;
    }
    if (queue_.empty()) continue;
    if (!dispatch_now_ && absl::Now() < next_dispatch_) continue;
    dispatch_now_ = false;
    std::string run_id = *queue_.Pop();
    dispatching_ = true;
    mu_.Unlock();
    DispatchOne(run_id);
    mu_.Lock();
    dispatching_ = false;
  }
  mu_.Unlock();
}

void Scheduler::DispatchOne(const std::string& run_id) {
  Experiment experiment;
  int64_t seed = 0;
  size_t first_trainer = 0;
  bool resume = false;
  std::string resume_trainer;
  {
    absl::MutexLock lock(&mu_);
    Entry* entry = nullptr;
    RunRecord* run = FindRunLocked(run_id, &entry);
    if (run == nullptr || run->state() != RunState::RUN_STATE_QUEUED || !run->trainer().empty()) {
      dispatch_now_ = true;  // nothing to do for this one: go on with the next
      return;
    }
    experiment = entry->experiment;
    seed = run->seed();
    first_trainer = next_trainer_;
    resume = run->attempts() > 0;
    resume_trainer = run->resume_trainer();
  }
  absl::StatusOr<TrainerConfig> config = RunConfig(experiment, seed);
  if (!config.ok()) {
    FailRun(run_id, absl::StrCat("cannot rebuild the run's config: ", config.status().message()));
    return;
  }
  std::map<std::string, std::string> labels = {{"experiment", experiment.id()},
                                               {"seed", absl::StrCat(seed)}};
  if (!experiment.sweep_id().empty()) labels["sweep"] = experiment.sweep_id();

  // Round-robin, except that a retry goes first to the trainer holding its checkpoints.
  const size_t n = options_.trainers.size();
  std::vector<size_t> order;
  for (size_t i = 0; i < n; ++i) {
    if (options_.trainers[i]->address() == resume_trainer) order.push_back(i);
  }
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (first_trainer + i) % n;
    if (options_.trainers[index]->address() != resume_trainer) order.push_back(index);
  }
  const std::set<std::string> full = TrainersAtCapacity();
  std::shared_ptr<TrainerClient> chosen;
  size_t chosen_index = 0;
  std::vector<std::string> refusals;
  for (const size_t index : order) {
    const std::shared_ptr<TrainerClient>& trainer = options_.trainers[index];
    if (full.count(trainer->address()) > 0) {
      refusals.push_back(absl::StrCat(trainer->address(), ": at its --trainers capacity"));
      continue;
    }
    absl::Status status = trainer->StartRun(run_id, experiment.id(), *config, labels, resume);
    if (absl::IsAlreadyExists(status) && resume) {
      // The trainer still has an earlier attempt: adopt it if it is running or finished with a
      // result; if it is still winding down (cancelled, not yet exited), wait for it rather
      // than start a second copy elsewhere.
      absl::StatusOr<TrainerClient::Run> there = trainer->GetRun(run_id);
      const bool ended_without_result = there.ok() && (there->state() == RunState::RUN_STATE_FAILED ||
                                                       there->state() == RunState::RUN_STATE_CANCELLED);
      if (there.ok() && !ended_without_result && !there->cancel_requested()) {
        chosen = trainer;
        chosen_index = index;
        break;
      }
      refusals.push_back(absl::StrCat(trainer->address(), ": the previous attempt is still ending"));
      break;
    }
    // AlreadyExists: an earlier attempt reached the trainer before we could record it.
    if (status.ok() || absl::IsAlreadyExists(status)) {
      chosen = trainer;
      chosen_index = index;
      break;
    }
    if (IsRetryableStartError(status)) {
      refusals.push_back(absl::StrCat(trainer->address(), ": ", status.ToString()));
      continue;
    }
    FailRun(run_id,
            absl::StrCat("trainer ", trainer->address(), " rejected the run: ", status.ToString()));
    return;
  }

  std::shared_ptr<TrainerClient> cancel_on;
  {
    absl::MutexLock lock(&mu_);
    Entry* entry = nullptr;
    RunRecord* run = FindRunLocked(run_id, &entry);
    if (run == nullptr) return;
    if (chosen == nullptr) {
      // Every trainer is full or down: keep the run at the head of the queue and back off.
      if (run->state() == RunState::RUN_STATE_QUEUED) EnqueueLocked(run_id, /*front=*/true);
      next_dispatch_ = absl::Now() + backoff_;
      backoff_ = std::min(backoff_ * 2, options_.max_dispatch_backoff);
      VLOG(1) << "no trainer took run " << run_id << ": " << absl::StrJoin(refusals, "; ");
      return;
    }
    next_trainer_ = (chosen_index + 1) % n;
    backoff_ = options_.dispatch_backoff;
    dispatch_now_ = true;
    if (run->state() != RunState::RUN_STATE_QUEUED) {
      cancel_on = chosen;  // cancelled while StartRun was in flight
    } else {
      run->set_trainer(chosen->address());
      run->set_state(RunState::RUN_STATE_RUNNING);
      run->set_message("");
      run->set_attempts(run->attempts() + 1);
      CommitLocked(*entry, /*persist=*/true);
      StartWatcherLocked(run_id, chosen);
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

absl::StatusOr<TrainerConfig> Scheduler::RunConfig(const Experiment& experiment,
                                                   int64_t seed) const {
  // Rebuilt from the stored inputs (validated at submission) plus the run's seed.
  std::vector<std::string> overrides(experiment.overrides().begin(), experiment.overrides().end());
  overrides.push_back(absl::StrCat("seed=", seed));
  return LoadTrainerConfig(experiment.config_yaml(), experiment.id(), overrides);
}

// ---------------------------------------------------------------------------------------------
// Following running runs

void Scheduler::StartWatcherLocked(const std::string& run_id,
                                   std::shared_ptr<TrainerClient> trainer) {
  if (stopping_ || watchers_.count(run_id) > 0) return;
  auto watcher = std::make_shared<Watcher>();
  // The thread needs mu_ before touching watchers_, so it sees the entry complete.
  watcher->thread =
      std::thread(&Scheduler::FollowRun, this, run_id, std::move(trainer), watcher.get());
  Entry* entry = nullptr;
  const RunRecord* run = FindRunLocked(run_id, &entry);
  if (run != nullptr && options_.metrics != nullptr &&
      entry->experiment.stop_on_collapse().enabled()) {
    watcher->collapse_thread = std::thread(&Scheduler::WatchCollapse, this, run_id,
                                           entry->experiment.stop_on_collapse(), watcher.get());
  }
  watchers_[run_id] = std::move(watcher);
}

void Scheduler::FollowRun(const std::string& run_id, std::shared_ptr<TrainerClient> trainer,
                          Watcher* watcher) {
  // A watcher follows one attempt: it stops once the run ended or was queued for a retry.
  int32_t attempt = 0;
  {
    absl::MutexLock lock(&mu_);
    Entry* entry = nullptr;
    if (const RunRecord* run = FindRunLocked(run_id, &entry)) attempt = run->attempts();
  }
  auto still_ours = [&] {
    absl::MutexLock lock(&mu_);
    Entry* entry = nullptr;
    const RunRecord* run = FindRunLocked(run_id, &entry);
    return run != nullptr && !IsTerminalRunState(run->state()) && run->attempts() == attempt &&
           run->trainer() == trainer->address();
  };
  auto hung = [&] {
    absl::MutexLock lock(&mu_);
    return watcher->hung;
  };
  absl::Time unreachable_since = absl::InfiniteFuture();
  bool warned = false;
  while (!watcher->cancel.cancelled()) {
    absl::Status watched = trainer->WatchRun(
        run_id,
        [&](const TrainerClient::RunEvent& event) { ApplyEvent(run_id, attempt, event); },
        &watcher->cancel);
    if (hung()) {
      // Stop what is left of it (a worker that ignores the cancel is killed after its grace).
      absl::Status cancelled = trainer->CancelRun(run_id);
      RetryRun(run_id, attempt,
               absl::StrCat("no progress for ", absl::FormatDuration(options_.hang_timeout), " on ",
                            trainer->address(), " (cancel there: ",
                            cancelled.ok() ? "sent" : cancelled.ToString(), ")"));
      break;
    }
    if (watcher->cancel.cancelled() || !still_ours()) break;
    // The stream broke or closed early: ask the trainer directly.
    absl::StatusOr<TrainerClient::Run> run = trainer->GetRun(run_id);
    if (run.ok()) {
      ApplyRun(run_id, attempt, *run);
      if (!still_ours()) break;
      unreachable_since = absl::InfiniteFuture();
      warned = false;
    } else if (absl::IsNotFound(run.status())) {
      RetryRun(run_id, attempt,
               absl::StrCat("trainer ", trainer->address(), " no longer knows the run (",
                            run.status().message(), ")"));
      break;
    } else {
      const absl::Time now = absl::Now();
      if (unreachable_since == absl::InfiniteFuture()) unreachable_since = now;
      if (now - unreachable_since >= options_.trainer_lost_timeout) {
        RetryRun(run_id, attempt,
                 absl::StrCat("trainer ", trainer->address(), " unreachable for ",
                              absl::FormatDuration(options_.trainer_lost_timeout), " (",
                              run.status().message(), ")"));
        break;
      }
      if (!warned) {
        LOG(WARNING) << "lost track of run " << run_id << " on " << trainer->address()
                     << " (watch: " << watched << "; get: " << run.status() << "); polling every "
                     << options_.poll_interval;
        warned = true;
      }
    }
    absl::MutexLock lock(&mu_);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stop), options_.poll_interval);
  }
  absl::MutexLock lock(&mu_);
  // Under mu_, so WatchCollapse's wait (a condition on mu_) sees it at once.
  watcher->collapse_cancel.Cancel();
  auto it = watchers_.find(run_id);
  if (it != watchers_.end() && it->second.get() == watcher) {
    finished_watchers_.push_back(std::move(it->second));  // the dispatcher joins it
    watchers_.erase(it);
  }
}

void Scheduler::HangMonitorLoop() {
  if (options_.hang_timeout <= absl::ZeroDuration()) return;
  const absl::Duration interval =
      std::min(absl::Seconds(1), std::max(absl::Milliseconds(10), options_.hang_timeout / 4));
  absl::MutexLock lock(&mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  while (!mu_.AwaitWithTimeout(absl::Condition(&stop), interval)) {
    const absl::Time now = absl::Now();
    for (auto& [run_id, watcher] : watchers_) {
      if (watcher->hung || now - watcher->last_progress < options_.hang_timeout) continue;
      LOG(WARNING) << "run " << run_id << ": no progress for "
                   << absl::FormatDuration(now - watcher->last_progress) << "; retrying it";
      watcher->hung = true;
      watcher->cancel.Cancel();  // ends the watch; FollowRun cancels and retries the run
    }
  }
}

void Scheduler::NoteProgressLocked(const std::string& run_id, const TrainerClient::RunEvent& event) {
  auto it = watchers_.find(run_id);
  if (it == watchers_.end()) return;
  Watcher& watcher = *it->second;
  // A reconnect replays the current state and step: only a change counts as progress.
  bool moved = false;
  if (event.has_progress() && event.progress().step() != watcher.last_step) {
    watcher.last_step = event.progress().step();
    moved = true;
  }
  if (event.has_state_change() && event.state_change().state() != watcher.last_state) {
    watcher.last_state = event.state_change().state();
    moved = true;
  }
  if (moved) watcher.last_progress = absl::Now();
}

void Scheduler::WatchCollapse(const std::string& run_id, const v1::StopOnCollapsePolicy& policy,
                              Watcher* watcher) {
  const size_t needed = static_cast<size_t>(std::max(1, policy.confirm_events()));
  // COLLAPSED events counted so far, as (detector, step): a reconnect replays current states.
  std::set<std::pair<std::string, int64_t>> counted;
  int64_t first_step = -1;
  std::string first_detector;
  auto on_event = [&](const ::jepalab::metrics::v1::CollapseEvent& event) {
    if (event.run_id() != run_id ||
        event.state() != ::jepalab::metrics::v1::COLLAPSE_STATE_COLLAPSED ||
        !CountsForPolicy(policy, event)) {
      return;
    }
    const std::string detector = DetectorName(event.indicator(), event.encoder());
    if (!counted.emplace(detector, event.step()).second) return;
    if (first_step < 0 || event.step() < first_step) {
      first_step = event.step();
      first_detector = detector;
    }
    if (counted.size() < needed) return;
    StopOnCollapse(run_id, first_step, first_detector);
    watcher->collapse_cancel.Cancel();  // done: ends this watch
  };
  bool warned = false;
  while (!watcher->collapse_cancel.cancelled()) {
    absl::Status status =
        options_.metrics->WatchCollapseEvents({run_id}, on_event, &watcher->collapse_cancel);
    if (watcher->collapse_cancel.cancelled()) break;
    if (!warned) {
      LOG(WARNING) << "collapse events of run " << run_id << ": " << status << "; retrying every "
                   << options_.poll_interval;
      warned = true;
    }
    absl::MutexLock lock(&mu_);
    auto stop = [this, watcher]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || watcher->collapse_cancel.cancelled();
    };
    mu_.AwaitWithTimeout(absl::Condition(&stop), options_.poll_interval);
  }
}

void Scheduler::StopOnCollapse(const std::string& run_id, int64_t step,
                               const std::string& indicator) {
  std::shared_ptr<TrainerClient> trainer;
  {
    absl::MutexLock lock(&mu_);
    Entry* entry = nullptr;
    RunRecord* run = FindRunLocked(run_id, &entry);
    if (run == nullptr || IsTerminalRunState(run->state())) return;
    // Recorded before CancelRun, so the CANCELLED state that follows reads as a collapse stop.
    if (!run->has_collapse_stop()) {
      v1::CollapseStop* stop = run->mutable_collapse_stop();
      stop->set_step(step);
      stop->set_indicator(indicator);
      stop->set_unix_ms(NowMs());
      run->set_message(CollapseStopMessage(*stop));
      CommitLocked(*entry, /*persist=*/true);
      LOG(INFO) << "run " << run_id << " " << run->message() << ": cancelling it on "
                << run->trainer();
    }
    trainer = TrainerFor(run->trainer());
  }
  if (trainer == nullptr) return;
  // A trainer that is down gets the cancel once it is back, unless the run has ended by then
  // (a retried run with a collapse stop is not started again).
  bool warned = false;
  while (true) {
    absl::Status status = trainer->CancelRun(run_id);
    if (status.ok() || absl::IsNotFound(status) || absl::IsFailedPrecondition(status)) return;
    if (!IsRetryableStartError(status)) {
      LOG(WARNING) << "cancel collapsed run " << run_id << " on " << trainer->address() << ": " << status;
      return;
    }
    LOG_IF(WARNING, !warned) << "cancel collapsed run " << run_id << " on " << trainer->address() << ": "
                             << status << "; retrying every " << options_.poll_interval;
    warned = true;
    absl::MutexLock lock(&mu_);
    Entry* entry = nullptr;
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      const RunRecord* run = FindRunLocked(run_id, &entry);
      return stopping_ || run == nullptr || IsTerminalRunState(run->state()) ||
             run->trainer() != trainer->address();
    };
    if (mu_.AwaitWithTimeout(absl::Condition(&done), options_.poll_interval)) return;
  }
}

void Scheduler::ApplyEvent(const std::string& run_id, int32_t attempt,
                           const TrainerClient::RunEvent& event) {
  absl::MutexLock lock(&mu_);
  Entry* entry = nullptr;
  RunRecord* run = FindRunLocked(run_id, &entry);
  if (run == nullptr || IsTerminalRunState(run->state()) || run->attempts() != attempt) return;
  NoteProgressLocked(run_id, event);
  bool persist = false;
  switch (event.kind_case()) {
    case TrainerClient::RunEvent::kStateChange: {
      const RunState state = event.state_change().state();
      if (state == RunState::RUN_STATE_UNSPECIFIED) return;
      if (event.state_change().retryable() && IsTerminalRunState(state)) {
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
    case TrainerClient::RunEvent::kMetrics:
      for (const auto& value : event.metrics().values()) {
        (*run->mutable_last_metrics())[value.name()] = value.value();
      }
      break;
    default:
      return;
  }
  if (IsTerminalRunState(run->state())) {
    RunEndedLocked(*run);
    LOG(INFO) << "run " << run_id << " ended " << common::v1::RunState_Name(run->state())
              << (run->message().empty() ? "" : ": ") << run->message();
  }
  CommitLocked(*entry, persist);
}

void Scheduler::ApplyRun(const std::string& run_id, int32_t attempt,
                         const TrainerClient::Run& trainer_run) {
  absl::MutexLock lock(&mu_);
  Entry* entry = nullptr;
  RunRecord* run = FindRunLocked(run_id, &entry);
  if (run == nullptr || IsTerminalRunState(run->state()) || run->attempts() != attempt) return;
  if (trainer_run.retryable() && IsTerminalRunState(trainer_run.state())) {
    RetryRunLocked(*entry, run, trainer_run.message());
    return;
  }
  const bool persist = trainer_run.state() != run->state();
  if (trainer_run.state() != RunState::RUN_STATE_UNSPECIFIED) run->set_state(trainer_run.state());
  run->set_message(trainer_run.message());
  KeepCollapseStopMessage(*run);
  *run->mutable_progress() = trainer_run.progress();
  for (const auto& [name, value] : trainer_run.last_metrics()) {
    (*run->mutable_last_metrics())[name] = value;
  }
  if (IsTerminalRunState(run->state())) RunEndedLocked(*run);
  CommitLocked(*entry, persist);
}

void Scheduler::FailRun(const std::string& run_id, const std::string& message) {
  absl::MutexLock lock(&mu_);
  Entry* entry = nullptr;
  RunRecord* run = FindRunLocked(run_id, &entry);
  if (run == nullptr || IsTerminalRunState(run->state())) return;
  LOG(ERROR) << "run " << run_id << " failed: " << message;
  run->set_state(RunState::RUN_STATE_FAILED);
  run->set_message(message);
  RunEndedLocked(*run);
  CommitLocked(*entry, /*persist=*/true);
}

void Scheduler::RetryRun(const std::string& run_id, int32_t attempt, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  Entry* entry = nullptr;
  RunRecord* run = FindRunLocked(run_id, &entry);
  if (run == nullptr || IsTerminalRunState(run->state()) || run->attempts() != attempt) return;
  RetryRunLocked(*entry, run, reason);
}

void Scheduler::RetryRunLocked(Entry& entry, RunRecord* run, const std::string& reason) {
  const std::string run_id = run->run_id();
  run->add_retry_reasons(absl::StrCat("attempt ", run->attempts(), " on ", run->trainer(), ": ", reason));
  // A cancelled experiment or a run stopped on collapse is not started again.
  const bool wanted = !IsTerminalExperimentState(entry.experiment.state()) && !run->has_collapse_stop();
  if (!wanted || run->attempts() >= options_.max_attempts) {
    run->set_state(wanted ? RunState::RUN_STATE_FAILED : RunState::RUN_STATE_CANCELLED);
    run->set_message(wanted ? absl::StrCat("gave up after ", run->attempts(), " attempts; last: ", reason)
                            : reason);
    KeepCollapseStopMessage(*run);
    LOG(ERROR) << "run " << run_id << " " << run->message();
    RunEndedLocked(*run);
    CommitLocked(entry, /*persist=*/true);
    return;
  }
  LOG(WARNING) << "run " << run_id << ": retrying (attempt " << run->attempts() + 1 << " of "
               << options_.max_attempts << "): " << reason;
  run->set_resume_trainer(run->trainer());
  run->set_trainer("");
  run->set_state(RunState::RUN_STATE_QUEUED);
  run->set_message(absl::StrCat("retrying after: ", reason));
  // This attempt's watcher is on its way out: let the next attempt have its own.
  if (auto it = watchers_.find(run_id); it != watchers_.end()) {
    it->second->cancel.Cancel();
    it->second->collapse_cancel.Cancel();
    finished_watchers_.push_back(std::move(it->second));
    watchers_.erase(it);
  }
  EnqueueLocked(run_id, /*front=*/true);  // it was first in line once already
  dispatch_now_ = true;
  CommitLocked(entry, /*persist=*/true);
}

// ---------------------------------------------------------------------------------------------
// Helpers

RunRecord* Scheduler::FindRunLocked(const std::string& run_id, Entry** entry) {
  auto ref = runs_.find(run_id);
  if (ref == runs_.end()) return nullptr;
  auto it = experiments_.find(ref->second.experiment_id);
  if (it == experiments_.end()) return nullptr;
  *entry = &it->second;
  return it->second.experiment.mutable_runs(ref->second.index);
}

void Scheduler::RunEndedLocked(const RunRecord& run) {
  // A run that ended on a trainer freed a slot: dispatch again without waiting out the backoff.
  if (!run.trainer().empty()) {
    dispatch_now_ = true;
    backoff_ = options_.dispatch_backoff;
  }
}

void Scheduler::CommitLocked(Entry& entry, bool persist) {
  Experiment& experiment = entry.experiment;
  const ExperimentState before = experiment.state();
  const ExperimentState after = ComputeState(experiment);
  if (after != before) {
    experiment.set_state(after);
    if (IsTerminalExperimentState(after) && experiment.finished_unix_ms() == 0) {
      experiment.set_finished_unix_ms(NowMs());
    }
    LOG(INFO) << "experiment " << experiment.id() << " is now " << v1::ExperimentState_Name(after);
  }
  ++entry.version;
  const absl::Time now = absl::Now();
  if (persist || after != before ||
      now - entry.last_persist >= options_.progress_persist_interval) {
    absl::Status status = store_->Put(experiment);
    if (!status.ok()) LOG(ERROR) << "persist experiment " << experiment.id() << ": " << status;
    entry.last_persist = now;
  }
}

std::set<std::string> Scheduler::TrainersAtCapacity() const {
  std::set<std::string> full;
  if (options_.trainer_capacity.empty()) return full;
  std::map<std::string, int> active;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, entry] : experiments_) {
    for (const RunRecord& run : entry.experiment.runs()) {
      if (!run.trainer().empty() && !IsTerminalRunState(run.state())) ++active[run.trainer()];
    }
  }
  for (const auto& [address, capacity] : options_.trainer_capacity) {
    if (active[address] >= capacity) full.insert(address);
  }
  return full;
}

size_t Scheduler::QueuedRunsLocked() const { return queue_.size() + (dispatching_ ? 1 : 0); }

std::shared_ptr<TrainerClient> Scheduler::TrainerFor(const std::string& address) const {
  for (const auto& trainer : options_.trainers) {
    if (trainer->address() == address) return trainer;
  }
  return nullptr;
}

int64_t Scheduler::NowMs() const { return clock_->NowUnixMillis(); }

}  // namespace jepalab::scheduler
