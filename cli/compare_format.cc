#include "cli/compare_format.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "cli/config_diff.h"
#include "common/yaml_flatten.h"

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
    absl::StatusOr<std::map<std::string, std::string>> flat =
        common::FlattenYaml(run.run().config_yaml());
    if (!flat.ok()) {
      absl::StrAppend(&out, "config diff: run ", id, ": ", flat.status().message(),
                      " (left out)\n");
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
    absl::StrAppend(&out, "config diff: the resolved configs are identical (", all_keys,
                    " keys)\n");
    return out;
  }
  absl::StrAppend(&out, "config diff: ", rows.size(),
                  rows.size() == 1 ? " key differs" : " keys differ", " (", all_keys - rows.size(),
                  " equal keys not shown)\n");
  absl::StrAppend(&out, FormatConfigDiff(names, rows));
  return out;
}

namespace {

std::string Value(double value) { return absl::StrFormat("%.6g", value); }
std::string ValueAt(double value, int64_t step) { return absl::StrFormat("%.6g @%d", value, step); }

}  // namespace

std::string FormatComparison(const met::CompareRunsResponse& response) {
  // Metrics in order of first appearance; each run's summary of each.
  std::vector<std::string> names;
  std::vector<std::map<std::string, const met::MetricSummary*>> by_run;
  for (const met::RunComparison& run : response.runs()) {
    auto& summaries = by_run.emplace_back();
    for (const met::MetricSummary& m : run.metrics()) {
      if (std::find(names.begin(), names.end(), m.name()) == names.end()) names.push_back(m.name());
      summaries[m.name()] = &m;
    }
  }
  size_t width = 14;
  for (const met::RunComparison& run : response.runs())
    width = std::max(width, run.run().run_id().size());
  size_t name_width = 16;
  for (const std::string& name : names) name_width = std::max(name_width, name.size());

  std::string out;
  auto row = [&](const std::string& metric, const std::string& stat,
                 const std::vector<std::string>& cells) {
    std::string line = absl::StrFormat("%-*s  %-6s", name_width, metric, stat);
    for (const std::string& cell : cells)
      absl::StrAppend(&line, "  ", absl::StrFormat("%-*s", width, cell));
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  };
  std::vector<std::string> header;
  for (const met::RunComparison& run : response.runs()) header.push_back(run.run().run_id());
  row("METRIC", "", header);
  for (const std::string& name : names) {
    // best/worst where the metric has a direction (metrics_service knows it), else min/max.
    bool directed = false;
    for (const auto& summaries : by_run) {
      auto it = summaries.find(name);
      directed = directed || (it != summaries.end() && !it->second->better().empty());
    }
    std::vector<std::string> final_cells, first_cells, second_cells;
    for (const auto& summaries : by_run) {
      auto it = summaries.find(name);
      if (it == summaries.end()) {
        final_cells.push_back("-");
        first_cells.push_back("-");
        second_cells.push_back("-");
        continue;
      }
      const met::MetricSummary& m = *it->second;
      final_cells.push_back(Value(m.last()));
      first_cells.push_back(directed ? ValueAt(m.best(), m.best_step())
                                     : ValueAt(m.min(), m.min_step()));
      second_cells.push_back(directed ? ValueAt(m.worst(), m.worst_step())
                                      : ValueAt(m.max(), m.max_step()));
    }
    row(name, "final", final_cells);
    row("", directed ? "best" : "min", first_cells);
    row("", directed ? "worst" : "max", second_cells);
  }
  std::vector<std::string> collapse;
  for (const met::RunComparison& run : response.runs()) {
    collapse.push_back(
        run.first_collapse_step() < 0 ? "none" : absl::StrCat("step ", run.first_collapse_step()));
  }
  row("first collapse", "", collapse);
  absl::StrAppend(&out, "\n", FormatComparisonConfigDiff(response));
  return out;
}

}  // namespace jepalab::cli
