#include "cli/plan_files.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "config/plan.h"

namespace jepalab::cli {

std::string ScaleSuffix(const std::string& scale, const std::string& gap) {
  return scale.empty() ? "" : absl::StrCat(gap, "(", scale, ")");
}

absl::StatusOr<std::string> ParsePlanScale(const ParsedArgs& args) {
  return config::SubmissionScale(args.Has("mini"), args.Get("scale"), "--scale");
}

absl::Status ReadPlanRunConfigs(const std::string& plan_yaml, const std::string& plan_path,
                                const std::string& scale,
                                google::protobuf::Map<std::string, std::string>* files) {
  absl::StatusOr<config::PlanConfig> plan = config::ParsePlan(plan_yaml, plan_path);
  if (!plan.ok()) return absl::InvalidArgumentError(plan.status().message());
  absl::StatusOr<google::protobuf::Map<std::string, std::string>> read =
      config::CollectRunConfigs(*plan, scale, config::ConfigsUnder(""));
  if (!read.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(plan_path, ": ", read.status().message()));
  }
  *files = *std::move(read);
  return absl::OkStatus();
}

}  // namespace jepalab::cli
