#include "cli/config_diff.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"

namespace jepalab::cli {
namespace {

constexpr size_t kMaxCellWidth = 40;

std::string Cell(const std::string& text) {
  if (text.size() <= kMaxCellWidth) return text;
  return absl::StrCat(text.substr(0, kMaxCellWidth - 3), "...");
}

}  // namespace

std::vector<ConfigDiffRow> DiffConfigs(
    const std::vector<std::map<std::string, std::string>>& configs) {
  std::vector<ConfigDiffRow> rows;
  if (configs.size() < 2) return rows;
  std::set<std::string> keys;
  for (const auto& config : configs) {
    for (const auto& [key, value] : config) keys.insert(key);
  }
  for (const std::string& key : keys) {
    ConfigDiffRow row;
    row.key = key;
    for (const auto& config : configs) {
      auto it = config.find(key);
      row.values.push_back(it == config.end() ? kUnsetValue : it->second);
    }
    const bool all_equal = std::all_of(row.values.begin(), row.values.end(),
                                       [&](const std::string& v) { return v == row.values[0]; });
    if (!all_equal) rows.push_back(std::move(row));
  }
  return rows;
}

std::string FormatConfigDiff(const std::vector<std::string>& names,
                             const std::vector<ConfigDiffRow>& rows) {
  std::vector<size_t> widths(names.size() + 1, 0);
  widths[0] = 3;  // "KEY"
  for (size_t i = 0; i < names.size(); ++i) widths[i + 1] = Cell(names[i]).size();
  for (const ConfigDiffRow& row : rows) {
    widths[0] = std::max(widths[0], row.key.size());
    for (size_t i = 0; i < row.values.size() && i < names.size(); ++i) {
      widths[i + 1] = std::max(widths[i + 1], Cell(row.values[i]).size());
    }
  }
  auto line = [&](const std::string& first, const std::vector<std::string>& cells) {
    std::string text = first + std::string(widths[0] - first.size(), ' ');
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string cell = i < cells.size() ? Cell(cells[i]) : "";
      absl::StrAppend(&text, "  ", cell);
      if (i + 1 < names.size()) text.append(widths[i + 1] - cell.size(), ' ');
    }
    return absl::StrCat(text, "\n");
  };
  std::string out = line("KEY", names);
  for (const ConfigDiffRow& row : rows) out += line(row.key, row.values);
  return out;
}

}  // namespace jepalab::cli
