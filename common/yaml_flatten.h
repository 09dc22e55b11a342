// Flattens a YAML mapping to dotted keys ("optimizer.lr" -> "5e-05"), the form in which configs
// are compared: the plan verdict's knob detection and the CLI's config diff.
#ifndef JEPALAB_COMMON_YAML_FLATTEN_H_
#define JEPALAB_COMMON_YAML_FLATTEN_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace jepalab::common {

// Dotted key -> value text: nested mappings become "section.key"; a scalar is its text as
// written, null is "null", a sequence (or an empty mapping) is one value in flow style
// ("[1, 2]", "{}"). An empty document is an empty map. InvalidArgument "config: malformed
// YAML: ..." for text that does not parse, "config: expected a YAML mapping ..." for a document
// that is not a mapping.
absl::StatusOr<std::map<std::string, std::string>> FlattenYaml(absl::string_view yaml);

}  // namespace jepalab::common

#endif  // JEPALAB_COMMON_YAML_FLATTEN_H_
