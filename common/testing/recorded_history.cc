#include "common/testing/recorded_history.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"

namespace jepalab::testing {

absl::StatusOr<std::vector<::jepalab::metrics::v1::Series>> LoadRecordedHistory(
    const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) return text.status();
  std::vector<::jepalab::metrics::v1::Series> series;
  std::map<std::string, size_t> index;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    if (++line_number == 1) continue;  // header
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    int64_t step = 0;
    double value = 0;
    if (fields.size() != 4 || !absl::SimpleAtoi(fields[0], &step) ||
        !absl::SimpleAtod(fields[3], &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": expected step,epoch,name,value"));
    }
    auto [it, inserted] = index.try_emplace(fields[2], series.size());
    if (inserted) series.emplace_back().set_name(fields[2]);
    auto* point = series[it->second].add_points();
    point->set_step(step);
    point->set_value(value);
  }
  return series;
}

}  // namespace jepalab::testing
