#include "trainer_service/core/data/manifest.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "trainer_service/core/data/grid_json.h"

namespace jepalab::trainer {
namespace {

using nlohmann::json;

// A list whose first element is itself a grid (a list of lists) is a list of grids.
bool IsListOfGrids(const json& value) {
  return value.is_array() && !value.empty() && value[0].is_array() && !value[0].empty() &&
         value[0][0].is_array();
}

absl::StatusOr<std::vector<Grid>> ParseGridList(const json& value, absl::string_view field,
                                                int max_color) {
  if (!value.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": expected a list of grids, got ", JsonTypeName(value)));
  }
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": no grids"));
  std::vector<Grid> grids;
  grids.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    JEPALAB_ASSIGN_OR_RETURN(Grid grid,
                             GridFromJson(value[i], absl::StrCat(field, "[", i, "]"), max_color));
    grids.push_back(std::move(grid));
  }
  return grids;
}

// A grid, or a list of grids.
absl::StatusOr<std::vector<Grid>> ParseGridOrList(const json& value, absl::string_view field,
                                                  int max_color) {
  if (IsListOfGrids(value)) return ParseGridList(value, field, max_color);
  JEPALAB_ASSIGN_OR_RETURN(Grid grid, GridFromJson(value, field, max_color));
  return std::vector<Grid>{std::move(grid)};
}

// Appends the samples of one record (without the "<file>:<line>: " prefix on errors).
absl::Status ParseRecord(const json& record, const std::string& default_id,
                         const ManifestOptions& options, std::vector<GridSample>* out) {
  if (!record.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record: expected a JSON object, got ", JsonTypeName(record)));
  }
  std::string id = default_id;
  if (const auto it = record.find("id"); it != record.end()) {
    if (!it->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("id: expected a string, got ", JsonTypeName(*it)));
    }
    id = it->get<std::string>();
  }
  const int window = options.context_window;
  if (record.contains("context") && record.contains("target")) {
    GridSample sample;
    sample.id = std::move(id);
    JEPALAB_ASSIGN_OR_RETURN(std::vector<Grid> context,
                             ParseGridOrList(record["context"], "context", options.max_color));
    JEPALAB_ASSIGN_OR_RETURN(std::vector<Grid> target,
                             ParseGridOrList(record["target"], "target", options.max_color));
    sample.context = FitContext(std::move(context), window);
    sample.target = std::move(target.front());
    out->push_back(std::move(sample));
    return absl::OkStatus();
  }
  if (record.contains("input") && record.contains("output")) {
    GridSample sample;
    sample.id = std::move(id);
    JEPALAB_ASSIGN_OR_RETURN(Grid input, GridFromJson(record["input"], "input", options.max_color));
    JEPALAB_ASSIGN_OR_RETURN(sample.target,
                             GridFromJson(record["output"], "output", options.max_color));
    sample.context = FitContext({std::move(input)}, window);
    out->push_back(std::move(sample));
    return absl::OkStatus();
  }
  if (record.contains("frames")) {
    JEPALAB_ASSIGN_OR_RETURN(const std::vector<Grid> frames,
                             ParseGridList(record["frames"], "frames", options.max_color));
    const int span = window + options.target_offset;
    for (int s = 0; s + span <= static_cast<int>(frames.size()); ++s) {
      GridSample sample;
      sample.id = absl::StrCat(id, "_", s);
      for (int i = s; i < s + window; ++i) {
        sample.context.push_back(frames[static_cast<size_t>(i)]);
        sample.context_indices.push_back(i);
      }
      sample.target_index = s + window + options.target_offset - 1;
      sample.target = frames[static_cast<size_t>(sample.target_index)];
      out->push_back(std::move(sample));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("record: has none of context+target, input+output, frames");
}

}  // namespace

absl::Status ValidateManifestOptions(const ManifestOptions& options) {
  if (options.context_window < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.context_window: must be >= 1, got ", options.context_window));
  }
  if (options.target_offset < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.target_offset: must be >= 1, got ", options.target_offset));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<GridSample>> ParseManifest(absl::string_view text,
                                                      absl::string_view file,
                                                      const ManifestOptions& options) {
  JEPALAB_RETURN_IF_ERROR(ValidateManifestOptions(options));
  std::vector<GridSample> samples;
  size_t line_start = 0;
  for (int line_number = 1; line_start < text.size(); ++line_number) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == absl::string_view::npos) line_end = text.size();
    absl::string_view line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    if (line.find_first_not_of(" \t\r") == absl::string_view::npos) continue;  // blank
    const std::string where = absl::StrCat(file, ":", line_number);
    absl::StatusOr<json> record = ParseJson(line, where);
    if (!record.ok()) return record.status();  // already "<file>:<line>: invalid JSON: ..."
    if (absl::Status s = ParseRecord(*record, where, options, &samples); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
    }
  }
  if (samples.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": manifest holds no sample"));
  }
  return samples;
}

absl::StatusOr<std::vector<GridSample>> LoadManifestFile(const std::string& path,
                                                         const ManifestOptions& options) {
  JEPALAB_ASSIGN_OR_RETURN(const std::string text, ReadFileLimited(path, options.max_file_bytes));
  return ParseManifest(text, path, options);
}

}  // namespace jepalab::trainer
