#include "config/plan_submission.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
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
  resolved.config = *std::move(parsed);
  ApplySubmission(submission.mini, submission.seeds, submission.overrides, &resolved.config);

  PlanValidationOptions validation;
  validation.mini = submission.mini;
  validation.read_config = submission.config_files.empty()
                               ? ConfigsUnder(submission.config_root)
                               : ConfigsFromMap(submission.config_files);
  validation.check_run_config = [](const std::string& path, const std::string& yaml,
                                   const std::vector<std::string>& overrides) {
    return LoadTrainerConfig(yaml, path, overrides).status();
  };
  if (absl::Status valid = ValidatePlan(resolved.config, validation); !valid.ok()) {
    return invalid(valid);
  }
  absl::StatusOr<google::protobuf::Map<std::string, std::string>> files =
      CollectRunConfigs(resolved.config, submission.mini, validation.read_config);
  if (!files.ok()) return invalid(files.status());
  resolved.config_files = *std::move(files);
  return resolved;
}

}  // namespace jepalab::config
