#include "scheduler_service/core/submission.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "config/sweep.h"
#include "config/trainer_config.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::common::v1::RunState;
using ::jepalab::config::ConfigHash;
using ::jepalab::config::ExpandSweep;
using ::jepalab::config::LoadTrainerConfig;
using ::jepalab::config::ResolvedConfigYaml;
using ::jepalab::config::SweepPoint;
using ::jepalab::config::SweepSpec;
using ::jepalab::config::SweepSpecFromRequest;
using ::jepalab::config::v1::TrainerConfig;

constexpr size_t kMaxNameLength = 64;  // scheduler.proto: name is [A-Za-z0-9._-]{1,64}
constexpr char kDefaultExperimentName[] = "experiment";

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

// Validation shared by experiments and sweep variants: the config, its overrides and every
// seed's own config must load.
absl::StatusOr<ExperimentPlan> PlanExperiment(const std::string& name,
                                              const std::string& config_yaml,
                                              const std::string& config_path,
                                              const std::vector<std::string>& overrides,
                                              const std::vector<int64_t>& requested_seeds) {
  JEPALAB_RETURN_IF_ERROR(ValidateName("name", name));
  if (config_yaml.empty()) return absl::InvalidArgumentError("config_yaml: must not be empty");
  const std::string source = config_path.empty() ? "<request>" : config_path;
  absl::StatusOr<TrainerConfig> base = LoadTrainerConfig(config_yaml, source, overrides);
  if (!base.ok()) return absl::InvalidArgumentError(base.status().message());

  ExperimentPlan plan;
  plan.name = name;
  plan.config_yaml = config_yaml;
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
    absl::StatusOr<TrainerConfig> run = LoadTrainerConfig(config_yaml, source, run_overrides);
    if (!run.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("seeds: ", seed, ": ", run.status().message()));
    }
    plan.run_config_hashes.push_back(ConfigHash(*run));
    plan.run_configs.push_back(*std::move(run));
  }
  plan.resolved_config_yaml = ResolvedConfigYaml(*base);
  plan.config_hash = ConfigHash(*base);
  return plan;
}

}  // namespace

absl::StatusOr<ExperimentPlan> PlanSubmission(const v1::SubmitExperimentRequest& request,
                                              bool have_metrics) {
  const std::string name = request.name().empty() ? kDefaultExperimentName : request.name();
  JEPALAB_ASSIGN_OR_RETURN(ExperimentPlan plan,
                           PlanExperiment(name, request.config_yaml(), request.config_path(),
                                          {request.overrides().begin(), request.overrides().end()},
                                          {request.seeds().begin(), request.seeds().end()}));
  JEPALAB_RETURN_IF_ERROR(ValidateStopOnCollapse(request.stop_on_collapse(), have_metrics));
  JEPALAB_RETURN_IF_ERROR(ValidatePriority(request.priority()));
  if (!request.fair_share_group().empty()) {
    JEPALAB_RETURN_IF_ERROR(common::ValidateId("fair_share_group", request.fair_share_group()));
  }
  plan.tags.assign(request.tags().begin(), request.tags().end());
  plan.has_stop_on_collapse = request.has_stop_on_collapse();
  plan.stop_on_collapse = request.stop_on_collapse();
  plan.priority = request.priority();
  plan.fair_share_group = request.fair_share_group();
  return plan;
}

absl::StatusOr<SweepPlan> PlanSweep(const v1::SubmitSweepRequest& request, bool have_metrics) {
  const SweepSpec spec = SweepSpecFromRequest(request);
  JEPALAB_RETURN_IF_ERROR(ValidateName("name", spec.name));
  JEPALAB_ASSIGN_OR_RETURN(std::vector<SweepPoint> points, ExpandSweep(spec));
  SweepPlan sweep;
  sweep.name = spec.name;
  for (const SweepPoint& point : points) {
    absl::StatusOr<ExperimentPlan> plan = PlanExperiment(
        point.name, request.config_yaml(), request.config_path(), point.overrides, point.seeds);
    if (!plan.ok()) return WithContext(plan.status(), absl::StrCat(point.field, ": "));
    sweep.experiments.push_back(*std::move(plan));
  }
  JEPALAB_RETURN_IF_ERROR(ValidateStopOnCollapse(request.stop_on_collapse(), have_metrics));
  JEPALAB_RETURN_IF_ERROR(ValidatePriority(request.priority()));
  for (ExperimentPlan& plan : sweep.experiments) {
    sweep.total_runs += plan.seeds.size();
    plan.tags.assign(request.tags().begin(), request.tags().end());
    plan.has_stop_on_collapse = request.has_stop_on_collapse();
    plan.stop_on_collapse = request.stop_on_collapse();
    plan.priority = request.priority();
  }
  return sweep;
}

v1::Experiment BuildExperiment(const ExperimentPlan& plan, int64_t sequence,
                               const std::string& sweep_id, int64_t now_ms) {
  v1::Experiment experiment;
  experiment.set_id(ExperimentId(plan.name, sequence));
  experiment.set_name(plan.name);
  experiment.set_state(v1::EXPERIMENT_STATE_QUEUED);
  experiment.set_config_yaml(plan.config_yaml);
  for (const std::string& override_text : plan.overrides) experiment.add_overrides(override_text);
  experiment.set_resolved_config_yaml(plan.resolved_config_yaml);
  experiment.set_config_hash(plan.config_hash);
  for (const std::string& tag : plan.tags) experiment.add_tags(tag);
  experiment.set_created_unix_ms(now_ms);
  experiment.set_sweep_id(sweep_id);
  for (size_t i = 0; i < plan.seeds.size(); ++i) {
    v1::RunRecord* run = experiment.add_runs();
    run->set_run_id(RunId(experiment.id(), plan.seeds[i]));
    run->set_seed(plan.seeds[i]);
    run->set_state(RunState::RUN_STATE_QUEUED);
    if (i < plan.run_configs.size()) {
      *run->mutable_config() = plan.run_configs[i];
      run->set_config_hash(plan.run_config_hashes[i]);
    }
  }
  if (plan.has_stop_on_collapse) *experiment.mutable_stop_on_collapse() = plan.stop_on_collapse;
  experiment.set_priority(plan.priority);
  experiment.set_fair_share_group(plan.fair_share_group);
  return experiment;
}

std::string ExperimentId(const std::string& name, int64_t sequence) {
  return absl::StrFormat("%s-%04d", name, sequence);
}

absl::Status ValidatePriority(int priority) {
  if (priority < -1000 || priority > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority: must be in [-1000, 1000], got ", priority));
  }
  return absl::OkStatus();
}

absl::Status ValidateStopOnCollapse(const v1::StopOnCollapsePolicy& policy, bool have_metrics) {
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
  if (policy.enabled() && !have_metrics) {
    return absl::FailedPreconditionError(
        "stop_on_collapse.enabled: the scheduler has no metrics_service to watch collapse events");
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainerConfig> RunConfig(const v1::Experiment& experiment, int64_t seed) {
  std::vector<std::string> overrides(experiment.overrides().begin(), experiment.overrides().end());
  overrides.push_back(absl::StrCat("seed=", seed));
  return LoadTrainerConfig(experiment.config_yaml(), experiment.id(), overrides);
}

}  // namespace jepalab::scheduler
