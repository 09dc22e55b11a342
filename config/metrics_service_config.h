// Loading metrics_service's YAML config (--config) with its --config_override entries, and
// errors that name where a bad value came from: the file and line, or the override.
#ifndef JEPALAB_CONFIG_METRICS_SERVICE_CONFIG_H_
#define JEPALAB_CONFIG_METRICS_SERVICE_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/config/metrics_service_config.pb.h"

namespace jepalab::config {

// Parses `yaml` (read from `source_name`, e.g. the --config path; empty text: every default),
// applies `overrides` ("dotted.key=value", in order) and validates the collapse detectors.
// Every error is InvalidArgument and starts with the field path. It ends with
// " (--config_override=<entry>)" when that override set the field (or a section above or below
// it), else with " (<source_name>:<line>)" when the file has the field.
absl::StatusOr<config::v1::MetricsServiceConfig> LoadMetricsServiceConfig(
    absl::string_view yaml, absl::string_view source_name,
    const std::vector<std::string>& overrides);

// Reads the file at `path` (none when empty) and calls LoadMetricsServiceConfig.
// InvalidArgument if the file cannot be read.
absl::StatusOr<config::v1::MetricsServiceConfig> LoadMetricsServiceConfigFile(
    const std::string& path, const std::vector<std::string>& overrides);

}  // namespace jepalab::config

#endif  // JEPALAB_CONFIG_METRICS_SERVICE_CONFIG_H_
