// Config diff for `jepalab compare`: flatten each run's resolved config YAML to dotted keys and
// keep only the keys whose values differ between the runs. Pure functions.
#ifndef JEPALAB_CLI_CONFIG_DIFF_H_
#define JEPALAB_CLI_CONFIG_DIFF_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace jepalab::cli {

// Shown for a key that one run's config does not have.
inline constexpr char kUnsetValue[] = "<unset>";

// The configs compared are flattened to dotted keys by common::FlattenYaml.

struct ConfigDiffRow {
  std::string key;
  std::vector<std::string> values;  // one per config, kUnsetValue where it is missing
};

// The keys (sorted) whose values are not all equal across `configs`. Fewer than two configs:
// no rows.
std::vector<ConfigDiffRow> DiffConfigs(
    const std::vector<std::map<std::string, std::string>>& configs);

// A table "KEY  <name 1>  <name 2> ..." of `rows`, one line per key, columns padded to their
// widest cell; values longer than 40 characters are cut with "...". `names` has one entry per
// config.
std::string FormatConfigDiff(const std::vector<std::string>& names,
                             const std::vector<ConfigDiffRow>& rows);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_CONFIG_DIFF_H_
