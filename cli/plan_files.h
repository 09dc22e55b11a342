// What a plan submission carries besides the plan itself: the text of every run config it may
// use, read here (relative to the working directory, like a sweep's base config) so that the
// scheduler needs no checkout of the repository.
#ifndef JEPALAB_CLI_PLAN_FILES_H_
#define JEPALAB_CLI_PLAN_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/arg_parser.h"
#include "google/protobuf/map.h"

namespace jepalab::cli {

// " (repro)" after a plan's name or state for a plan run at a scale ("" at full size); `gap`
// precedes the parenthesis.
std::string ScaleSuffix(const std::string& scale, const std::string& gap = " ");

// The scale --scale S / --mini ask for (config::SubmissionScale); InvalidArgument naming --scale.
absl::StatusOr<std::string> ParsePlanScale(const ParsedArgs& args);

// Parses `plan_yaml` (read from `plan_path`) and fills `files` with every run config it names at
// `scale` (config/plan.h). InvalidArgument naming the plan file and the field when the plan does
// not parse or a config cannot be read.
absl::Status ReadPlanRunConfigs(const std::string& plan_yaml, const std::string& plan_path,
                                const std::string& scale,
                                google::protobuf::Map<std::string, std::string>* files);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_PLAN_FILES_H_
