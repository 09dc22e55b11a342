// Batches of grids padded to the batch's largest height and width, as flat arrays that the
// model wraps into tensors (torch-free, so data preparation can run on its own thread).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_BATCH_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_BATCH_H_

#include <cstdint>
#include <vector>

#include "trainer_service/core/data/grid_generator.h"

namespace jepalab::trainer {

// Colour ids the encoder embeds; larger values are clamped (the generator's maximum is 18).
inline constexpr int kNumColorIds = 32;

struct PaddedGrids {
  int64_t count = 0;
  int64_t height = 0;  // padded height (max over the batch)
  int64_t width = 0;   // padded width
  std::vector<int64_t> colors;  // [count, height * width], 0 on padding
  std::vector<float> coords;    // [count, height * width, 2]: (y, x) / (size - 1) in each grid
  std::vector<float> mask;      // [count, height * width]: 1 on real cells, 0 on padding
};

// Pads `grids` (none may be null) into one batch. An empty list gives count 0.
PaddedGrids PadGrids(const std::vector<const Grid*>& grids);

// One JEPA micro-batch: per sample the context grids (context_window of them, consecutive
// rows) and the target grid.
struct JepaBatch {
  int64_t size = 0;
  int64_t context_window = 0;
  PaddedGrids context;  // size * context_window grids
  PaddedGrids target;   // size grids
};

// Generator tasks are input/output pairs, so a sample's context is its input repeated
// context_window times and its target is the output (reference §0.6, §1.3).
JepaBatch MakeJepaBatch(const std::vector<Task>& tasks, const std::vector<int64_t>& indices,
                        int context_window);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_BATCH_H_
