#include "scheduler_service/core/plan_runner.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "config/plan.h"
#include "config/plan_submission.h"
#include "config/trainer_config.h"
#include "proto/scheduler_states.h"

namespace jepalab::scheduler {

using ::jepalab::config::ApplySubmission;
using ::jepalab::config::BranchChoice;
using ::jepalab::config::ChooseBranch;
using ::jepalab::config::FindStage;
using ::jepalab::config::ParsePlan;
using ::jepalab::config::RecordScale;
using ::jepalab::config::ResolvedPlan;
using ::jepalab::config::ResolvePlanSubmission;
using ::jepalab::config::RunConfigPath;
using ::jepalab::config::RunSeeds;
using ::jepalab::config::ToPlanSubmission;
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::config::v1::PlanConfig;
using ::jepalab::config::v1::PlanRun;
using ::jepalab::config::v1::PlanStage;
using ::jepalab::scheduler::v1::Plan;
using ::jepalab::scheduler::v1::PlanRunStatus;
using ::jepalab::scheduler::v1::PlanState;

constexpr size_t kMaxExperimentName = 64;  // scheduler.proto: name is [A-Za-z0-9._-]{1,64}

std::string PlanTag(const std::string& plan_id) { return absl::StrCat("plan:", plan_id); }
std::string RunTag(const std::string& run_name) { return absl::StrCat("plan_run:", run_name); }

bool HasTag(const v1::Experiment& experiment, const std::string& tag) {
  return std::find(experiment.tags().begin(), experiment.tags().end(), tag) !=
         experiment.tags().end();
}

PlanRunStatus* FindRunStatus(Plan& plan, const std::string& name) {
  for (PlanRunStatus& status : *plan.mutable_runs()) {
    if (status.name() == name) return &status;
  }
  return nullptr;
}

// The earlier run of `plan` that `run` is identical to (same config file at the plan's scale,
// overrides and seeds, so the same resolved config for each seed), or nullptr.
const PlanRunStatus* IdenticalSubmittedRun(const Plan& plan, const PlanConfig& config,
                                           const PlanRun& run) {
  const std::string scale = RecordScale(plan);
  const absl::StatusOr<std::string> path = RunConfigPath(run, scale);
  if (!path.ok()) return nullptr;
  for (const PlanRunStatus& status : plan.runs()) {
    if (status.name() == run.name() || status.experiment_id().empty()) continue;
    const PlanRun* other = ::jepalab::config::FindRun(config, status.name());
    if (other == nullptr) continue;
    const absl::StatusOr<std::string> other_path = RunConfigPath(*other, scale);
    if (other_path.ok() && *other_path == *path &&
        std::equal(other->overrides().begin(), other->overrides().end(), run.overrides().begin(),
                   run.overrides().end()) &&
        RunSeeds(config, *other) == RunSeeds(config, run)) {
      return &status;
    }
  }
  return nullptr;
}

// The summary a list shows: no plan text, no config copies.
Plan Summary(const Plan& plan) {
  Plan summary = plan;
  summary.clear_plan_yaml();
  summary.clear_config_files();
  return summary;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction and restart

absl::StatusOr<std::unique_ptr<PlanRunner>> PlanRunner::Create(const PlanRunnerOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data_dir: must not be empty");
  if (options.scheduler == nullptr) return absl::InvalidArgumentError("scheduler: must be set");
  if (options.metrics == nullptr) return absl::InvalidArgumentError("metrics: must be set");
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("poll_interval: must be > 0");
  }
  JEPALAB_ASSIGN_OR_RETURN(std::unique_ptr<PlanStore> store, PlanStore::Open(options.data_dir));
  JEPALAB_ASSIGN_OR_RETURN(std::vector<Plan> stored, store->List());
  std::unique_ptr<PlanRunner> runner(new PlanRunner(options, std::move(store)));
  {
    absl::MutexLock lock(&runner->mu_);
    int running = 0;
    for (Plan& plan : stored) {
      Entry& entry = runner->plans_[plan.id()];
      runner->order_.push_back(plan.id());
      absl::StatusOr<PlanConfig> config = ParsePlan(plan.plan_yaml(), plan.plan_path());
      if (!config.ok()) {
        // Accepted once, so this is a broken record: keep it visible, but stop it.
        plan.set_state(PlanState::PLAN_STATE_FAILED);
        plan.set_message(absl::StrCat("stored plan no longer parses: ", config.status().message()));
      } else {
        entry.config = *std::move(config);
        // Again what the submission changed, so later stages run as accepted.
        ApplySubmission(RecordScale(plan), plan.seeds(), plan.overrides(), &entry.config);
      }
      if (!IsTerminal(plan.state())) ++running;
      entry.plan = std::move(plan);
      entry.version = 1;
    }
    LOG(INFO) << "plan runner: loaded " << runner->order_.size() << " plans, " << running
              << " running";
  }
  runner->thread_ = std::thread(&PlanRunner::Loop, runner.get());
  return runner;
}

PlanRunner::PlanRunner(const PlanRunnerOptions& options, std::unique_ptr<PlanStore> store)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : &system_clock_),
      store_(std::move(store)) {}

PlanRunner::~PlanRunner() { Shutdown(); }

void PlanRunner::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int64_t PlanRunner::NowMs() const { return clock_->NowUnixMillis(); }

void PlanRunner::Loop() {
  while (true) {
    std::vector<std::string> running;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.poll_interval);
      if (stopping_) return;
      for (const std::string& id : order_) {
        if (!IsTerminal(plans_.at(id).plan.state())) running.push_back(id);
      }
    }
    for (const std::string& id : running) {
      absl::Status status = Advance(id);
      absl::MutexLock lock(&mu_);
      Entry& entry = plans_.at(id);
      const std::string error = status.ok() ? "" : status.ToString();
      // A retryable error (metrics_service down, queue full) repeats every tick: log it once.
      if (!error.empty() && error != entry.last_error) {
        LOG(WARNING) << "plan " << id << ": " << error << " (retrying)";
      }
      entry.last_error = error;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Submission

absl::StatusOr<Plan> PlanRunner::SubmitPlan(const v1::SubmitPlanRequest& request) {
  JEPALAB_RETURN_IF_ERROR(ValidatePriority(request.priority()));
  // (config::PlanSubmission: the scheduler has a PlanSubmission of its own, for experiments.)
  const config::PlanSubmission submission = ToPlanSubmission(request, options_.config_root);
  const std::string& source = submission.source;
  JEPALAB_ASSIGN_OR_RETURN(ResolvedPlan resolved, ResolvePlanSubmission(submission));
  const PlanConfig& config = resolved.config;

  Plan plan;
  plan.set_name(config.name());
  plan.set_state(PlanState::PLAN_STATE_RUNNING);
  plan.set_plan_yaml(request.plan_yaml());
  plan.set_plan_path(request.plan_path());
  plan.set_scale(resolved.scale);
  plan.set_mini(resolved.scale == config::kScaleMini);
  plan.set_priority(request.priority());
  *plan.mutable_seeds() = request.seeds();
  *plan.mutable_overrides() = request.overrides();
  *plan.mutable_config_files() = std::move(resolved.config_files);
  size_t longest_run_name = 0;
  for (const PlanStage& stage : config.stages()) {
    for (const PlanRun& run : stage.runs()) {
      longest_run_name = std::max(longest_run_name, run.name().size());
    }
  }
  // Experiment names "<plan id>.<run name>" must fit the scheduler's limit.
  const size_t experiment_name = config.name().size() + 5 + 1 + longest_run_name;
  if (experiment_name > kMaxExperimentName) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: name: \"%s\" with run names up to %d characters makes experiment names of %d "
        "characters; at most %d allowed",
        source, config.name(), longest_run_name, experiment_name, kMaxExperimentName));
  }
  const std::string entry_stage = config.stages(0).name();
  plan.add_stages_taken(entry_stage);
  plan.set_current_stage(entry_stage);
  plan.set_created_unix_ms(NowMs());

  JEPALAB_ASSIGN_OR_RETURN(int64_t sequence, store_->NextSequence());
  plan.set_id(absl::StrFormat("%s-%04d", config.name(), sequence));
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("scheduler is shutting down");
  }
  JEPALAB_RETURN_IF_ERROR(store_->Put(plan));
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = plans_[plan.id()];
    entry.plan = plan;
    entry.config = config;
    entry.version = 1;
    order_.push_back(plan.id());
  }
  LOG(INFO) << "accepted plan " << plan.id() << " (" << source
            << (resolved.scale.empty() ? "" : ", scale ") << resolved.scale
            << "): " << config.stages_size() << " stages";
  // Submit the first stage now; a retryable failure is retried by the background thread.
  absl::Status first = Advance(plan.id());
  if (!first.ok()) LOG(WARNING) << "plan " << plan.id() << ": " << first << " (retrying)";
  return GetPlan(plan.id());
}

// ---------------------------------------------------------------------------------------------
// Advancing

absl::Status PlanRunner::Advance(const std::string& id) {
  absl::MutexLock advance_lock(&advance_mu_);
  Plan plan;
  PlanConfig config;
  {
    absl::MutexLock lock(&mu_);
    auto it = plans_.find(id);
    if (it == plans_.end()) return absl::NotFoundError(absl::StrCat("plan ", id, " not found"));
    if (IsTerminal(it->second.plan.state())) return absl::OkStatus();
    plan = it->second.plan;
    config = it->second.config;
  }
  return AdvanceLocked(plan, config);
}

absl::Status PlanRunner::SubmitRun(Plan& plan, const PlanConfig& config, const PlanRun& run,
                                   PlanRunStatus& status) {
  const std::string plan_tag = PlanTag(plan.id());
  const std::string run_tag = RunTag(run.name());
  // A crash between submitting and storing the plan leaves a tagged experiment: adopt it.
  for (const v1::Experiment& experiment : options_.scheduler->ListExperiments({}, "")) {
    if (HasTag(experiment, plan_tag) && HasTag(experiment, run_tag)) {
      status.set_experiment_id(experiment.id());
      for (const RunRecord& record : experiment.runs()) status.add_run_ids(record.run_id());
      return absl::OkStatus();
    }
  }
  // The seed's plan names some runs twice ("VQ without refresh" in scenario A and again in the
  // additional stage): training the same config and seeds again would only repeat the result.
  if (const PlanRunStatus* same = IdenticalSubmittedRun(plan, config, run)) {
    status.set_experiment_id(same->experiment_id());
    status.set_state(same->state());
    *status.mutable_run_ids() = same->run_ids();
    status.set_same_as(same->name());
    return absl::OkStatus();
  }
  JEPALAB_ASSIGN_OR_RETURN(std::string path, RunConfigPath(run, RecordScale(plan)));
  auto file = plan.config_files().find(path);
  if (file == plan.config_files().end()) {
    return absl::InternalError(absl::StrCat("plan ", plan.id(), ": no stored config ", path));
  }
  v1::SubmitExperimentRequest request;
  request.set_name(absl::StrCat(plan.id(), ".", run.name()));
  request.set_config_yaml(file->second);
  request.set_config_path(path);
  for (const std::string& override_text : run.overrides()) request.add_overrides(override_text);
  for (int64_t seed : RunSeeds(config, run)) request.add_seeds(seed);
  request.set_priority(plan.priority());
  request.set_fair_share_group(plan.id());
  request.add_tags(plan_tag);
  request.add_tags(run_tag);
  request.add_tags(absl::StrCat("plan_stage:", status.stage()));
  if (config.has_stop_on_collapse() && config.stop_on_collapse().enabled()) {
    const ::jepalab::config::v1::PlanStopOnCollapse& stop = config.stop_on_collapse();
    v1::StopOnCollapsePolicy* policy = request.mutable_stop_on_collapse();
    policy->set_enabled(true);
    for (const std::string& indicator : stop.indicators()) policy->add_indicators(indicator);
    policy->set_confirm_events(stop.confirm_events());
  }
  absl::StatusOr<v1::Experiment> experiment = options_.scheduler->SubmitExperiment(request);
  if (!experiment.ok()) {
    return absl::Status(experiment.status().code(),
                        absl::StrCat("run ", run.name(), ": ", experiment.status().message()));
  }
  status.set_experiment_id(experiment->id());
  status.set_state(experiment->state());
  for (const RunRecord& record : experiment->runs()) status.add_run_ids(record.run_id());
  return absl::OkStatus();
}

absl::StatusOr<PlanRunResults> PlanRunner::FetchResults(const std::string& experiment_id) {
  JEPALAB_ASSIGN_OR_RETURN(v1::Experiment experiment,
                           options_.scheduler->GetExperiment(experiment_id));
  PlanRunResults results;
  absl::StatusOr<std::map<std::string, std::string>> flat =
      FlattenConfigYaml(experiment.resolved_config_yaml());
  if (flat.ok()) results.config = *std::move(flat);
  for (const RunRecord& record : experiment.runs()) {
    RunHistory history;
    history.run_id = record.run_id();
    history.seed = record.seed();
    history.state = record.state();
    history.message = record.message();
    if (record.has_collapse_stop()) {
      history.collapse_stop_step = record.collapse_stop().step();
      history.collapse_stop_indicator = record.collapse_stop().indicator();
    }
    // A run that never reached a trainer has no history: NotFound is an empty one.
    absl::StatusOr<std::vector<::jepalab::metrics::v1::Series>> series =
        options_.metrics->GetRunHistory(record.run_id(), {});
    if (series.ok()) {
      history.series = *std::move(series);
    } else if (!absl::IsNotFound(series.status())) {
      return absl::Status(series.status().code(), absl::StrCat("metrics for run ", record.run_id(),
                                                               ": ", series.status().message()));
    }
    absl::StatusOr<CollapseSummary> collapse = options_.metrics->GetCollapseStatus(record.run_id());
    if (collapse.ok()) {
      history.first_collapse_step = collapse->first_collapse_step;
      history.first_collapse_indicator = collapse->indicator;
    } else if (!absl::IsNotFound(collapse.status())) {
      return absl::Status(collapse.status().code(),
                          absl::StrCat("collapse status of run ", record.run_id(), ": ",
                                       collapse.status().message()));
    }
    results.seeds.push_back(std::move(history));
  }
  return results;
}

absl::Status PlanRunner::AdvanceLocked(Plan& plan, const PlanConfig& config) {
  // Each pass handles one stage; a plan has no cycles, so stages_size() passes end it.
  for (int pass = 0; pass <= config.stages_size(); ++pass) {
    const int stage_index = FindStage(config, plan.current_stage());
    if (stage_index < 0) {
      plan.set_state(PlanState::PLAN_STATE_FAILED);
      plan.set_message(absl::StrCat("unknown stage \"", plan.current_stage(), "\""));
      plan.set_finished_unix_ms(NowMs());
      return Commit(plan);
    }
    const PlanStage& stage = config.stages(stage_index);

    // 1. Every run of the stage has its experiment.
    for (const PlanRun& run : stage.runs()) {
      PlanRunStatus* status = FindRunStatus(plan, run.name());
      if (status == nullptr) {
        status = plan.add_runs();
        status->set_name(run.name());
        status->set_stage(stage.name());
      }
      if (!status->experiment_id().empty()) continue;
      absl::Status submitted = SubmitRun(plan, config, run, *status);
      if (absl::IsInvalidArgument(submitted) || absl::IsInternal(submitted)) {
        // The scheduler refused the run's config: the plan cannot go on.
        plan.set_state(PlanState::PLAN_STATE_FAILED);
        plan.set_message(absl::StrCat("stage ", stage.name(), ": ", submitted.message()));
        plan.set_finished_unix_ms(NowMs());
        LOG(ERROR) << "plan " << plan.id() << " failed: " << plan.message();
        return Commit(plan);
      }
      JEPALAB_RETURN_IF_ERROR(submitted);  // retryable: queue full, shutting down
      // Stored at once, so a restart never submits this run again.
      JEPALAB_RETURN_IF_ERROR(Commit(plan));
      LOG(INFO) << "plan " << plan.id() << ": stage " << stage.name() << ", run " << run.name()
                << " -> experiment " << status->experiment_id();
    }

    // 2. Wait until every experiment of the stage has finished.
    bool changed = false;
    for (const PlanRun& run : stage.runs()) {
      PlanRunStatus* status = FindRunStatus(plan, run.name());
      JEPALAB_ASSIGN_OR_RETURN(ExperimentSnapshot snapshot,
                               options_.scheduler->GetSnapshot(status->experiment_id()));
      if (status->state() != snapshot.experiment.state()) {
        status->set_state(snapshot.experiment.state());
        changed = true;
      }
      if (!snapshot.finished) {
        if (changed) JEPALAB_RETURN_IF_ERROR(Commit(plan));
        return absl::OkStatus();
      }
    }
    if (changed) JEPALAB_RETURN_IF_ERROR(Commit(plan));

    // 3. Judge the stage's runs. EvaluatePlan walks the tree from the entry stage, so it gets
    // the results of every run on the path so far (cached; fetched again after a restart).
    PlanResults& results = results_[plan.id()];
    bool judge = false;
    for (const PlanRunStatus& status : plan.runs()) {
      judge = judge || !status.judged();
      if (results.count(status.name()) > 0) continue;
      JEPALAB_ASSIGN_OR_RETURN(PlanRunResults fetched, FetchResults(status.experiment_id()));
      results[status.name()] = std::move(fetched);
    }
    if (judge) {
      const PlanVerdict partial = EvaluatePlan(config, results);
      for (const RunSetOutcome& outcome : partial.runs) {
        PlanRunStatus* status = FindRunStatus(plan, outcome.name);
        if (status == nullptr || status->judged()) continue;
        status->set_judged(true);
        status->set_stable(outcome.stable);
        status->set_inconclusive(outcome.inconclusive);
        status->set_verdict(outcome.verdict);
        LOG(INFO) << "plan " << plan.id() << ": run " << outcome.name << ": " << outcome.verdict;
      }
      JEPALAB_RETURN_IF_ERROR(Commit(plan));
    }

    // 4. Take a branch.
    std::map<std::string, bool> stable;
    std::set<std::string> inconclusive;
    for (const PlanRun& run : stage.runs()) {
      const PlanRunStatus* status = FindRunStatus(plan, run.name());
      if (!status->judged()) {
        return absl::InternalError(absl::StrCat("run ", run.name(), " has no verdict"));
      }
      stable[run.name()] = status->stable();
      if (status->inconclusive()) inconclusive.insert(run.name());
    }
    JEPALAB_ASSIGN_OR_RETURN(BranchChoice choice, ChooseBranch(stage, stable, inconclusive));
    if (plan.scenario().empty() && !choice.scenario.empty()) plan.set_scenario(choice.scenario);
    if (!choice.next_stage.empty()) {
      LOG(INFO) << "plan " << plan.id() << ": stage " << stage.name() << " -> " << choice.next_stage
                << (choice.scenario.empty() ? ""
                                            : absl::StrCat(" (scenario ", choice.scenario, ")"));
      plan.add_stages_taken(choice.next_stage);
      plan.set_current_stage(choice.next_stage);
      JEPALAB_RETURN_IF_ERROR(Commit(plan));
      continue;
    }

    // 5. The tree ended: the plan's verdict over every run on the path.
    const PlanVerdict verdict = EvaluatePlan(config, results);
    results_.erase(plan.id());
    if (!verdict.scenario.empty()) plan.set_scenario(verdict.scenario);
    plan.set_conclusion(verdict.conclusion);
    plan.set_table(verdict.table);
    plan.set_current_stage("");
    plan.set_state(PlanState::PLAN_STATE_SUCCEEDED);
    plan.set_finished_unix_ms(NowMs());
    LOG(INFO) << "plan " << plan.id() << " finished: " << verdict.conclusion;
    return Commit(plan);
  }
  return absl::InternalError(absl::StrCat("plan ", plan.id(), ": stage graph did not end"));
}

absl::Status PlanRunner::Commit(const Plan& plan) {
  JEPALAB_RETURN_IF_ERROR(store_->Put(plan));
  absl::MutexLock lock(&mu_);
  Entry& entry = plans_[plan.id()];
  entry.plan = plan;
  ++entry.version;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Queries and cancellation

absl::StatusOr<Plan> PlanRunner::GetPlan(const std::string& id) const {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("id", id));
  Plan plan;
  {
    absl::MutexLock lock(&mu_);
    auto it = plans_.find(id);
    if (it == plans_.end()) return absl::NotFoundError(absl::StrCat("plan ", id, " not found"));
    plan = it->second.plan;
  }
  for (PlanRunStatus& status : *plan.mutable_runs()) {
    if (status.experiment_id().empty()) continue;
    absl::StatusOr<v1::Experiment> experiment =
        options_.scheduler->GetExperiment(status.experiment_id());
    if (experiment.ok()) status.set_state(experiment->state());
  }
  return plan;
}

std::vector<Plan> PlanRunner::ListPlans() const {
  absl::MutexLock lock(&mu_);
  std::vector<Plan> plans;
  for (const std::string& id : order_) plans.push_back(Summary(plans_.at(id).plan));
  return plans;
}

absl::StatusOr<Plan> PlanRunner::CancelPlan(const std::string& id) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("id", id));
  {
    absl::MutexLock advance_lock(&advance_mu_);
    Plan plan;
    {
      absl::MutexLock lock(&mu_);
      auto it = plans_.find(id);
      if (it == plans_.end()) return absl::NotFoundError(absl::StrCat("plan ", id, " not found"));
      plan = it->second.plan;
    }
    if (IsTerminal(plan.state())) {
      return absl::FailedPreconditionError(
          absl::StrCat("plan ", id, " already finished (", v1::PlanState_Name(plan.state()), ")"));
    }
    for (PlanRunStatus& status : *plan.mutable_runs()) {
      if (status.experiment_id().empty()) continue;
      absl::StatusOr<v1::Experiment> experiment =
          options_.scheduler->CancelExperiment(status.experiment_id());
      if (experiment.ok()) {
        status.set_state(experiment->state());
      } else if (!absl::IsFailedPrecondition(experiment.status())) {
        // Finished experiments are FailedPrecondition; anything else is worth a line.
        LOG(WARNING) << "plan " << id << ": cancel " << status.experiment_id() << ": "
                     << experiment.status();
      }
    }
    results_.erase(id);
    plan.set_state(PlanState::PLAN_STATE_CANCELLED);
    plan.set_message("cancelled");
    plan.set_finished_unix_ms(NowMs());
    JEPALAB_RETURN_IF_ERROR(Commit(plan));
    LOG(INFO) << "cancelled plan " << id;
  }
  return GetPlan(id);
}

absl::StatusOr<PlanSnapshot> PlanRunner::WaitForChange(const std::string& id, int64_t after_version,
                                                       absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto it = plans_.find(id);
  if (it == plans_.end()) return absl::NotFoundError(absl::StrCat("plan ", id, " not found"));
  const Entry* entry = &it->second;  // entries are never erased
  auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || entry->version > after_version;
  };
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  if (stopping_) return absl::UnavailableError("scheduler is shutting down");
  return PlanSnapshot{entry->plan, entry->version, IsTerminal(entry->plan.state())};
}

}  // namespace jepalab::scheduler
