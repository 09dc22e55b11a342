#include "config/metrics_service_config.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/yaml_proto.h"
#include "config/collapse_detectors_config.h"

namespace jepalab::config {
namespace {

// Stands in for the file name when there is no --config; only override errors can occur then,
// and those name the override instead.
constexpr char kNoFile[] = "<defaults>";

// The field path an error message starts with ("a.b[2]: ..." -> "a.b"), or "" if none.
std::string ErrorPath(absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos) return "";
  std::string path(message.substr(0, colon));
  if (const size_t bracket = path.find('['); bracket != std::string::npos) path.resize(bracket);
  return path;
}

// The last override whose key is `path`, or a section above or below it; nullptr if none.
const std::string* OverrideFor(absl::string_view path, const std::vector<std::string>& overrides) {
  if (path.empty()) return nullptr;
  const std::string* found = nullptr;
  for (const std::string& entry : overrides) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    const absl::string_view key =
        absl::StripAsciiWhitespace(absl::string_view(entry).substr(0, eq));
    if (key == path || absl::StartsWith(path, absl::StrCat(key, ".")) ||
        absl::StartsWith(key, absl::StrCat(path, "."))) {
      found = &entry;
    }
  }
  return found;
}

// Rewrites an error about a field that an override set so that it names the override (the YAML
// parser only knows a line of the file, and an override has none). Other errors are unchanged.
absl::Status NameOverride(const absl::Status& status, absl::string_view source_name,
                          const std::vector<std::string>& overrides) {
  if (status.ok()) return status;
  const std::string* entry = OverrideFor(ErrorPath(status.message()), overrides);
  if (entry == nullptr) return status;
  absl::string_view message = status.message();
  // The parser's own " (<source>)" or " (<source>:<line>)" suffix points at the file: drop it.
  const std::string suffix_start = absl::StrCat(" (", source_name);
  if (const size_t at = message.rfind(suffix_start);
      at != absl::string_view::npos && absl::EndsWith(message, ")")) {
    message = message.substr(0, at);
  }
  return absl::Status(status.code(), absl::StrCat(message, " (--config_override=", *entry, ")"));
}

}  // namespace

absl::StatusOr<config::v1::MetricsServiceConfig> LoadMetricsServiceConfig(
    absl::string_view yaml, absl::string_view source_name,
    const std::vector<std::string>& overrides) {
  config::v1::MetricsServiceConfig config;
  common::FieldLines lines;
  JEPALAB_RETURN_IF_ERROR(
      NameOverride(common::ParseYamlInto(yaml, source_name, overrides, &config, &lines),
                   source_name, overrides));
  const absl::Status valid = ValidateCollapseDetectorsConfig(config.collapse_detectors());
  if (valid.ok()) return config;
  if (OverrideFor(ErrorPath(valid.message()), overrides) != nullptr) {
    return NameOverride(valid, source_name, overrides);
  }
  // Keys that only an override created have no line in the file (they read as line 0).
  common::FieldLines file_lines;
  for (const auto& [path, line] : lines) {
    if (line > 0) file_lines.emplace(path, line);
  }
  return common::AnnotateWithLine(valid, source_name, file_lines);
}

absl::StatusOr<config::v1::MetricsServiceConfig> LoadMetricsServiceConfigFile(
    const std::string& path, const std::vector<std::string>& overrides) {
  if (path.empty()) return LoadMetricsServiceConfig("", kNoFile, overrides);
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", text.status().message()));
  }
  return LoadMetricsServiceConfig(*text, path, overrides);
}

}  // namespace jepalab::config
