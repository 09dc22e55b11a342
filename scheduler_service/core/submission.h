// Admission rules: validates a submitted experiment or sweep completely (names, config,
// overrides, seeds, priority, stop-on-collapse policy) and builds the experiment records it
// becomes. Pure functions: nothing is stored or queued here.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_SUBMISSION_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_SUBMISSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/config/trainer_config.pb.h"
#include "proto/scheduler.pb.h"

namespace jepalab::scheduler {

// A fully validated experiment, ready to be named (it needs a sequence number) and stored.
struct ExperimentPlan {
  std::string name;
  std::string config_yaml;
  std::vector<std::string> overrides;
  std::vector<int64_t> seeds;
  std::string resolved_config_yaml;
  std::string config_hash;
  // Per seed (same order as `seeds`): the run's resolved config and its hash, computed once here.
  std::vector<::jepalab::config::v1::TrainerConfig> run_configs;
  std::vector<std::string> run_config_hashes;
  std::vector<std::string> tags;
  bool has_stop_on_collapse = false;
  v1::StopOnCollapsePolicy stop_on_collapse;
  int priority = 0;
  std::string fair_share_group;
};

// A validated sweep: one plan per variant or grid point, in expansion order.
struct SweepPlan {
  std::string name;
  std::vector<ExperimentPlan> experiments;
  size_t total_runs = 0;
};

// Validates everything about `request` (`have_metrics`: collapse events can be watched).
// InvalidArgument names the field or config key; FailedPrecondition if stop_on_collapse is
// enabled without metrics.
absl::StatusOr<ExperimentPlan> PlanSubmission(const v1::SubmitExperimentRequest& request,
                                              bool have_metrics);
// The same for every experiment of a sweep; a variant's error is prefixed with its field.
absl::StatusOr<SweepPlan> PlanSweep(const v1::SubmitSweepRequest& request, bool have_metrics);

// The QUEUED experiment record for `plan`: id "<name>-<sequence>", one run "<id>-s<seed>" per
// seed.
v1::Experiment BuildExperiment(const ExperimentPlan& plan, int64_t sequence,
                               const std::string& sweep_id, int64_t now_ms);

// "<name>-<sequence>" with the sequence zero-padded to 4 digits.
std::string ExperimentId(const std::string& name, int64_t sequence);

// A submission's priority: InvalidArgument naming "priority" outside [-1000, 1000].
absl::Status ValidatePriority(int priority);

// InvalidArgument for a negative confirm_events or an empty indicator; FailedPrecondition if
// the policy is enabled but `have_metrics` is false.
absl::Status ValidateStopOnCollapse(const v1::StopOnCollapsePolicy& policy, bool have_metrics);

// One run's full config, rebuilt from the experiment's stored inputs (validated at submission)
// plus the run's seed: only for runs stored before RunRecord.config existed.
absl::StatusOr<::jepalab::config::v1::TrainerConfig> RunConfig(const v1::Experiment& experiment,
                                                               int64_t seed);

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_SUBMISSION_H_
