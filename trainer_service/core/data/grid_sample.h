// One JEPA training sample of reference §1.3: a context of grids (fitted to context_window)
// and a target grid, as read from ARC task files or JSONL manifests.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_SAMPLE_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_SAMPLE_H_

#include <string>
#include <vector>

#include "trainer_service/core/data/grid_generator.h"

namespace jepalab::trainer {

struct GridSample {
  std::string id;             // record id (or "<file>:<line>" when the record has none)
  std::vector<Grid> context;  // exactly context_window grids after FitContext
  Grid target;
  // `frames` records only (§1.3 metadata): the frame indices the sample was cut from.
  std::vector<int> context_indices;
  int target_index = -1;
};

// Fits a non-empty context to `context_window` grids (§1.3): a longer one keeps its last
// context_window grids, a shorter one is padded by repeating its last grid.
std::vector<Grid> FitContext(std::vector<Grid> context, int context_window);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_GRID_SAMPLE_H_
