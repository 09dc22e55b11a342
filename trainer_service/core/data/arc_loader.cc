#include "trainer_service/core/data/arc_loader.h"

#include <dirent.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "trainer_service/core/data/grid_json.h"

namespace jepalab::trainer {
namespace {

absl::Status Prefixed(absl::string_view file, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(file, ": ", status.message()));
}

absl::StatusOr<Grid> ParseArcGrid(const nlohmann::json& pair, const std::string& field,
                                  absl::string_view key, const ArcLoaderOptions& options) {
  const auto it = pair.find(key);
  if (it == pair.end()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": missing key \"", key, "\""));
  }
  const std::string grid_field = absl::StrCat(field, ".", key);
  JEPALAB_ASSIGN_OR_RETURN(Grid grid, GridFromJson(*it, grid_field, options.max_color));
  if (grid.height > options.max_grid_side || grid.width > options.max_grid_side) {
    return absl::InvalidArgumentError(absl::StrCat(grid_field, ": grid is ", grid.height, "x",
                                                   grid.width, ", max side ",
                                                   options.max_grid_side));
  }
  return grid;
}

absl::StatusOr<std::vector<ArcPair>> ParsePairs(const nlohmann::json& task, absl::string_view key,
                                                const ArcLoaderOptions& options) {
  const auto it = task.find(key);
  if (it == task.end()) {
    return absl::InvalidArgumentError(absl::StrCat("missing key \"", key, "\""));
  }
  if (!it->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": expected a list of pairs, got ", JsonTypeName(*it)));
  }
  std::vector<ArcPair> pairs;
  pairs.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& pair = (*it)[i];
    const std::string field = absl::StrCat(key, "[", i, "]");
    if (!pair.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": expected an object with \"input\" and \"output\", got ", JsonTypeName(pair)));
    }
    ArcPair out;
    JEPALAB_ASSIGN_OR_RETURN(out.input, ParseArcGrid(pair, field, "input", options));
    JEPALAB_ASSIGN_OR_RETURN(out.output, ParseArcGrid(pair, field, "output", options));
    pairs.push_back(std::move(out));
  }
  return pairs;
}

absl::StatusOr<ArcTask> ParseArcTaskUnprefixed(absl::string_view json_text,
                                               absl::string_view task_id,
                                               const ArcLoaderOptions& options) {
  JEPALAB_ASSIGN_OR_RETURN(const nlohmann::json task, ParseJson(json_text, "task"));
  if (!task.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task: expected an object with \"train\" and \"test\", got ", JsonTypeName(task)));
  }
  ArcTask out;
  out.id = std::string(task_id);
  JEPALAB_ASSIGN_OR_RETURN(out.train, ParsePairs(task, "train", options));
  if (out.train.empty()) return absl::InvalidArgumentError("train: no pairs");
  JEPALAB_ASSIGN_OR_RETURN(out.test, ParsePairs(task, "test", options));
  return out;
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

absl::StatusOr<ArcTask> ParseArcTask(absl::string_view json_text, absl::string_view file,
                                     absl::string_view task_id, const ArcLoaderOptions& options) {
  absl::StatusOr<ArcTask> task = ParseArcTaskUnprefixed(json_text, task_id, options);
  if (!task.ok()) return Prefixed(file, task.status());
  return task;
}

absl::StatusOr<ArcTask> LoadArcTaskFile(const std::string& path, const ArcLoaderOptions& options) {
  JEPALAB_ASSIGN_OR_RETURN(const std::string text, ReadFileLimited(path, options.max_file_bytes));
  std::string task_id = Basename(path);
  if (absl::EndsWith(task_id, ".json")) task_id.resize(task_id.size() - 5);
  return ParseArcTask(text, path, task_id, options);
}

absl::StatusOr<std::vector<ArcTask>> LoadArcTaskDir(const std::string& dir,
                                                    const ArcLoaderOptions& options) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return absl::NotFoundError(absl::StrCat(dir, ": cannot read directory"));
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (absl::EndsWith(name, ".json") && name[0] != '.') names.push_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  if (names.empty()) return absl::InvalidArgumentError(absl::StrCat(dir, ": no *.json task files"));
  std::vector<ArcTask> tasks;
  tasks.reserve(names.size());
  for (const std::string& name : names) {
    JEPALAB_ASSIGN_OR_RETURN(ArcTask task, LoadArcTaskFile(absl::StrCat(dir, "/", name), options));
    tasks.push_back(std::move(task));
  }
  return tasks;
}

std::vector<GridSample> ArcTasksToSamples(const std::vector<ArcTask>& tasks,
                                          absl::string_view dataset, int context_window,
                                          bool include_test) {
  std::vector<GridSample> samples;
  for (const ArcTask& task : tasks) {
    auto add = [&](const std::vector<ArcPair>& pairs, absl::string_view split) {
      for (size_t i = 0; i < pairs.size(); ++i) {
        GridSample sample;
        sample.id = absl::StrFormat("%s_%s_%s_%02d", dataset, task.id, split, i);
        sample.context = FitContext({pairs[i].input}, context_window);
        sample.target = pairs[i].output;
        samples.push_back(std::move(sample));
      }
    };
    add(task.train, "train");
    if (include_test) add(task.test, "test");
  }
  return samples;
}

}  // namespace jepalab::trainer
