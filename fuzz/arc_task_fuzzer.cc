// Fuzzes the ARC task loader (ParseArcTask) and the sample conversion after it.
// Invariant: a task that parses holds only grids within the limits the options promise.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "trainer_service/core/data/arc_loader.h"

namespace {

using jepalab::trainer::ArcLoaderOptions;
using jepalab::trainer::Grid;

void CheckGrid(const Grid& grid, const ArcLoaderOptions& options) {
  const std::string shape = absl::StrCat(grid.height, "x", grid.width);
  FUZZ_CHECK(grid.height >= 1 && grid.height <= options.max_grid_side, shape);
  FUZZ_CHECK(grid.width >= 1 && grid.width <= options.max_grid_side, shape);
  FUZZ_CHECK(grid.cells.size() == static_cast<size_t>(grid.height) * grid.width, shape);
  for (const int cell : grid.cells) {
    FUZZ_CHECK(cell >= 0 && cell <= options.max_color, absl::StrCat(cell));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  const ArcLoaderOptions options;
  const auto task = jepalab::trainer::ParseArcTask(json, "fuzz.json", "fuzz", options);
  if (!task.ok()) {
    FUZZ_CHECK(absl::StartsWith(task.status().message(), "fuzz.json: "), task.status().ToString());
    return 0;
  }
  FUZZ_CHECK(!task->train.empty(), "train must not be empty");
  for (const auto* pairs : {&task->train, &task->test}) {
    for (const auto& pair : *pairs) {
      CheckGrid(pair.input, options);
      CheckGrid(pair.output, options);
    }
  }
  const auto samples = jepalab::trainer::ArcTasksToSamples({*task}, "arc", /*context_window=*/3,
                                                           /*include_test=*/true);
  FUZZ_CHECK(samples.size() == task->train.size() + task->test.size(),
             absl::StrCat(samples.size()));
  for (const auto& sample : samples) FUZZ_CHECK(sample.context.size() == 3, sample.id);
  return 0;
}
