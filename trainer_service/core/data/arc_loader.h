// Reader for real ARC task files (arc-agi JSON: {"train": [{"input", "output"}...], "test": [...]})
// into validated grids and JEPA samples. Torch-free; malformed files give InvalidArgument that
// names file, task and field, e.g. "foo.json: train[2].input[3]: row has 5 cells, expected 6".
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_ARC_LOADER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_ARC_LOADER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trainer_service/core/data/grid_generator.h"
#include "trainer_service/core/data/grid_sample.h"

namespace jepalab::trainer {

struct ArcPair {
  Grid input;
  Grid output;
};

struct ArcTask {
  std::string id;  // the file name without ".json", e.g. "007bbfb7"
  std::vector<ArcPair> train;
  std::vector<ArcPair> test;
};

struct ArcLoaderOptions {
  int64_t max_file_bytes = 4 << 20;  // the largest ARC-AGI-1 task file is 28 KB
  int max_color = 9;                 // ARC colours are 0..9
  int max_grid_side = 30;            // ARC grids are at most 30x30
};

// Parses one task's JSON text. `file` names it in errors; `task_id` becomes ArcTask::id.
// InvalidArgument "<file>: <field>: <problem>" for invalid JSON, a non-object, a missing or
// mistyped "train"/"test"/"input"/"output", a ragged or empty grid, a non-integer cell, a colour
// outside 0..max_color or a side above max_grid_side. "train" must be non-empty.
absl::StatusOr<ArcTask> ParseArcTask(absl::string_view json_text, absl::string_view file,
                                     absl::string_view task_id, const ArcLoaderOptions& options);

// Reads and parses one file (size checked before reading). NotFound if it cannot be opened.
absl::StatusOr<ArcTask> LoadArcTaskFile(const std::string& path, const ArcLoaderOptions& options);

// Every "*.json" file directly in `dir`, sorted by file name. NotFound if `dir` cannot be read;
// the first bad file's error otherwise. InvalidArgument if the directory holds no task.
absl::StatusOr<std::vector<ArcTask>> LoadArcTaskDir(const std::string& dir,
                                                    const ArcLoaderOptions& options);

// One input/output sample per train pair (and per test pair when include_test), like the
// reference's convert_arc_to_manifest.py: id "<dataset>_<task>_train_<nn>" ("_test_<nn>"),
// context = (input,) fitted to context_window, target = output.
std::vector<GridSample> ArcTasksToSamples(const std::vector<ArcTask>& tasks,
                                          absl::string_view dataset, int context_window,
                                          bool include_test);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_ARC_LOADER_H_
