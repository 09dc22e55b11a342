#include "config/sweep_file.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "common/yaml_proto.h"
#include "config/sweep.h"

namespace jepalab::config {
namespace {}  // namespace

absl::StatusOr<SweepFileConfig> ParseSweepFile(absl::string_view yaml,
                                               absl::string_view source_name) {
  SweepFileConfig sweep;
  JEPALAB_RETURN_IF_ERROR(common::ParseYamlInto(yaml, source_name, {}, &sweep));
  return sweep;
}

absl::StatusOr<scheduler::v1::SubmitSweepRequest> SweepRequestFromFile(
    const SweepFileConfig& sweep, const std::string& config_yaml) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("name", sweep.name()));
  if (sweep.config().empty()) return absl::InvalidArgumentError("config: must be set");
  if (sweep.stop_on_collapse().confirm_events() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("stop_on_collapse.confirm_events: must be >= 1, got ",
                     sweep.stop_on_collapse().confirm_events()));
  }
  scheduler::v1::SubmitSweepRequest request;
  request.set_name(sweep.name());
  request.set_config_yaml(config_yaml);
  request.set_config_path(sweep.config());
  for (const std::string& o : sweep.overrides()) request.add_overrides(o);
  for (const auto& variant : sweep.variants()) {
    scheduler::v1::SweepVariant* v = request.add_variants();
    v->set_name(variant.name());
    for (const std::string& o : variant.overrides()) v->add_overrides(o);
  }
  for (const auto& axis : sweep.grid()) {
    scheduler::v1::SweepAxis* a = request.add_grid();
    a->set_key(axis.key());
    for (const std::string& value : axis.values()) a->add_values(value);
  }
  for (int64_t seed : sweep.seeds()) request.add_seeds(seed);
  for (const std::string& tag : sweep.tags()) request.add_tags(tag);
  if (sweep.stop_on_collapse().enabled()) {
    scheduler::v1::StopOnCollapsePolicy* policy = request.mutable_stop_on_collapse();
    policy->set_enabled(true);
    for (const std::string& i : sweep.stop_on_collapse().indicators()) policy->add_indicators(i);
    policy->set_confirm_events(sweep.stop_on_collapse().confirm_events());
  }
  // The same expansion the scheduler runs: its field paths are the sweep file's.
  JEPALAB_RETURN_IF_ERROR(ExpandSweep(SweepSpecFromRequest(request)).status());
  return request;
}

absl::StatusOr<scheduler::v1::SubmitSweepRequest> LoadSweepFile(const std::string& path,
                                                                const std::string& base_dir) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat("cannot read sweep file ", path));
  }
  common::FieldLines lines;
  SweepFileConfig sweep;
  JEPALAB_RETURN_IF_ERROR(common::ParseYamlInto(*text, path, {}, &sweep, &lines));
  std::string config_yaml;
  if (!sweep.config().empty()) {
    absl::StatusOr<std::string> config =
        common::ReadFile(common::JoinPath(base_dir, sweep.config()));
    if (!config.ok()) {
      return common::AnnotateWithLine(
          absl::InvalidArgumentError(absl::StrCat("config: file not found: ", sweep.config())),
          path, lines);
    }
    config_yaml = *std::move(config);
  }
  absl::StatusOr<scheduler::v1::SubmitSweepRequest> request =
      SweepRequestFromFile(sweep, config_yaml);
  if (!request.ok()) return common::AnnotateWithLine(request.status(), path, lines);
  return request;
}

}  // namespace jepalab::config
