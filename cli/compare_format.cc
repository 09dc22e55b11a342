#include "cli/compare_format.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/config_diff.h"

namespace jepalab::cli {

namespace met = ::jepalab::metrics::v1;

std::string FormatComparisonConfigDiff(const met::CompareRunsResponse& response) {
  std::string out;
  std::vector<std::string> names;
  std::vector<std::map<std::string, std::string>> configs;
  for (const met::RunComparison& run : response.runs()) {
    const std::string& id = run.run().run_id();
    if (run.run().config_yaml().empty()) {
      absl::StrAppend(&out, "config diff: run ", id, " has no recorded config (left out)\n");
      continue;
    }
    absl::StatusOr<std::map<std::string, std::string>> flat = FlattenYamlConfig(run.run().config_yaml());
    if (!flat.ok()) {
      absl::StrAppend(&out, "config diff: run ", id, ": ", flat.status().message(), " (left out)\n");
      continue;
    }
    names.push_back(id);
    configs.push_back(*std::move(flat));
  }
  if (configs.size() < 2) {
    absl::StrAppend(&out, "config diff: needs two runs with recorded configs\n");
    return out;
  }
  const std::vector<ConfigDiffRow> rows = DiffConfigs(configs);
  size_t all_keys = 0;
  {
    std::map<std::string, int> keys;
    for (const auto& config : configs) {
      for (const auto& [key, value] : config) ++keys[key];
    }
    all_keys = keys.size();
  }
  if (rows.empty()) {
    absl::StrAppend(&out, "config diff: the resolved configs are identical (", all_keys, " keys)\n");
    return out;
  }
  absl::StrAppend(&out, "config diff: ", rows.size(), rows.size() == 1 ? " key differs" : " keys differ",
                  " (", all_keys - rows.size(), " equal keys not shown)\n");
  absl::StrAppend(&out, FormatConfigDiff(names, rows));
  return out;
}

std::string FormatComparison(const met::CompareRunsResponse& response) {
  std::string out = absl::StrFormat("%-28s %-28s %12s %12s %12s %8s\n", "RUN", "METRIC", "LAST", "MIN",
                                    "MAX", "STEPS");
  for (const auto& run : response.runs()) {
    for (const auto& m : run.metrics()) {
      absl::StrAppend(&out, absl::StrFormat("%-28s %-28s %12.6g %12.6g %12.6g %8d\n", run.run().run_id(),
                                            m.name(), m.last(), m.min(), m.max(), m.last_step()));
    }
  }
  absl::StrAppend(&out, "\n", FormatComparisonConfigDiff(response));
  return out;
}

}  // namespace jepalab::cli
