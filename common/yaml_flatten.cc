#include "common/yaml_flatten.h"

#include <yaml-cpp/yaml.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jepalab::common {
namespace {

void Flatten(const YAML::Node& node, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  if (node.IsMap() && node.size() > 0) {
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      Flatten(entry.second, prefix.empty() ? key : absl::StrCat(prefix, ".", key), out);
    }
    return;
  }
  if (node.IsNull()) {
    out[prefix] = "null";
  } else if (node.IsScalar()) {
    out[prefix] = node.Scalar();
  } else {  // a sequence or an empty mapping: one value
    YAML::Emitter emitter;
    emitter << YAML::Flow << node;
    out[prefix] = emitter.c_str();
  }
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> FlattenYaml(absl::string_view yaml) {
  std::map<std::string, std::string> flat;
  // yaml-cpp reports errors by throwing; nothing may escape (STYLE.md §3).
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsDefined() || root.IsNull()) return flat;
    if (!root.IsMap()) {
      return absl::InvalidArgumentError("config: expected a YAML mapping at the top");
    }
    Flatten(root, "", flat);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: malformed YAML: ", e.what()));
  }
  return flat;
}

}  // namespace jepalab::common
