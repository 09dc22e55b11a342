// What a plan submission carries besides the plan itself: the text of every run config it may
// use, read here (relative to the working directory, like a sweep's base config) so that the
// scheduler needs no checkout of the repository.
#ifndef JEPALAB_CLI_PLAN_FILES_H_
#define JEPALAB_CLI_PLAN_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/map.h"

namespace jepalab::cli {

// Parses `plan_yaml` (read from `plan_path`) and fills `files` with every run config it names in
// `mini` mode or not. InvalidArgument naming the plan file and the field when the plan does not
// parse or a config cannot be read.
absl::Status ReadPlanRunConfigs(const std::string& plan_yaml, const std::string& plan_path,
                                bool mini, google::protobuf::Map<std::string, std::string>* files);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_PLAN_FILES_H_
