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
  validation.check_run_config = [](const std::string& path, const std::string& yaml,
                                   const std::vector<std::string>& overrides) {
    return LoadTrainerConfig(yaml, path, overrides).status();
  };
  if (absl::Status valid = ValidatePlan(resolved.config, validation); !valid.ok()) {
    return invalid(valid);
  }
  return resolved;
}

}  // namespace jepalab::config
