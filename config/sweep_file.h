// Sweep files (configs/sweeps/*.yaml, schema proto/config/sweep_config.proto): parsing,
// validation that names the bad field, and conversion into the SubmitSweepRequest that
// `jepalab sweep submit` sends and `jepalab schedule add --sweep` stores. The experiments come
// from the scheduler's pure sweep expansion (sweep.h), which the validation runs too.
#ifndef JEPALAB_CONFIG_SWEEP_FILE_H_
#define JEPALAB_CONFIG_SWEEP_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/config/sweep_config.pb.h"
#include "proto/scheduler.pb.h"

namespace jepalab::config {

using ::jepalab::config::v1::SweepFileConfig;

// Parses sweep YAML (no validation). InvalidArgument naming `source_name`, line and key path
// for unknown keys, wrong types and malformed YAML.
absl::StatusOr<SweepFileConfig> ParseSweepFile(absl::string_view yaml,
                                               absl::string_view source_name);

// The request for `sweep` whose base config (sweep.config) has the text `config_yaml`.
// InvalidArgument naming the field: "name: ...", "config: must be set", "stop_on_collapse.
// confirm_events: must be >= 1, got 0", and every expansion error ("variants[1].name:
// duplicate variant", "grid[0].values: must not be empty", "variants: must not be empty").
absl::StatusOr<scheduler::v1::SubmitSweepRequest> SweepRequestFromFile(
    const SweepFileConfig& sweep, const std::string& config_yaml);

// Reads, parses and validates the sweep file at `path`, and reads its base config relative to
// `base_dir` (empty: the working directory; an absolute config path is used as is). Errors carry
// " (<path>:<line>)" where known. NotFound if the sweep file cannot be read; InvalidArgument
// "config: file not found: <path>" if its base config cannot.
absl::StatusOr<scheduler::v1::SubmitSweepRequest> LoadSweepFile(const std::string& path,
                                                                const std::string& base_dir);

}  // namespace jepalab::config

#endif  // JEPALAB_CONFIG_SWEEP_FILE_H_
