#include "config/plan_submission.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "config/plan_criteria.h"
#include "config/trainer_config.h"

namespace jepalab::config {

absl::StatusOr<ResolvedPlan> ResolvePlanSubmission(const PlanSubmission& submission) {
  auto invalid = [&](const absl::Status& status) {
    return absl::InvalidArgumentError(absl::StrCat(submission.source, ": ", status.message()));
  };
  if (submission.plan_yaml.empty())
    return absl::InvalidArgumentError("plan_yaml: must not be empty");
  absl::StatusOr<PlanConfig> parsed = ParsePlan(submission.plan_yaml, submission.source);
  if (!parsed.ok()) return absl::InvalidArgumentError(parsed.status().message());
  ResolvedPlan resolved;
  absl::StatusOr<std::string> scale = SubmissionScale(submission.mini, submission.scale);
  if (!scale.ok()) return invalid(scale.status());
  resolved.scale = *std::move(scale);
  resolved.config = *std::move(parsed);
  ApplySubmission(resolved.scale, submission.seeds, submission.overrides, &resolved.config);

  const ConfigReader source = submission.config_files.empty()
                                  ? ConfigsUnder(submission.config_root)
                                  : ConfigsFromMap(submission.config_files);
  PlanValidationOptions validation;
  validation.scale = resolved.scale;
  // Validation reads every run's config once (after the path checks); what it read is what the
  // plan keeps.
  validation.read_config = [&](const std::string& path) -> absl::StatusOr<std::string> {
    auto kept = resolved.config_files.find(path);
    if (kept != resolved.config_files.end()) return kept->second;
    absl::StatusOr<std::string> text = source(path);
    if (text.ok()) resolved.config_files[path] = *text;
    return text;
  };
  // The diagnostics dimension of each loaded (config, overrides), for the criteria check below.
  std::map<std::string, int64_t> dims;
  auto key = [](const std::string& path, const std::vector<std::string>& overrides) {
    return absl::StrCat(path, "\n", absl::StrJoin(overrides, "\n"));
  };
  validation.check_run_config = [&](const std::string& path, const std::string& yaml,
                                    const std::vector<std::string>& overrides) -> absl::Status {
    absl::StatusOr<TrainerConfig> config = LoadTrainerConfig(yaml, path, overrides);
    if (config.ok()) dims[key(path, overrides)] = DiagnosticsDimension(*config);
    return config.status();
  };
  if (absl::Status valid = ValidatePlan(resolved.config, validation); !valid.ok()) {
    return invalid(valid);
  }
  // Thresholds must be able to pass and fail at every run's dimension.
  for (const PlanStage& stage : resolved.config.stages()) {
    for (const PlanRun& run : stage.runs()) {
      absl::StatusOr<std::string> path = RunConfigPath(run, resolved.scale);
      if (!path.ok()) continue;  // reported by ValidatePlan
      auto dim = dims.find(key(*path, {run.overrides().begin(), run.overrides().end()}));
      if (dim == dims.end()) continue;
      if (absl::Status attainable = CheckCriteriaAttainable(resolved.config.criteria(), "criteria",
                                                            run.name(), dim->second);
          !attainable.ok()) {
        return invalid(attainable);
      }
    }
  }
  return resolved;
}

}  // namespace jepalab::config
