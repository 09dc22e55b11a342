#include "trainer_service/core/data/grid_batch.h"

#include <algorithm>

namespace jepalab::trainer {

PaddedGrids PadGrids(const std::vector<const Grid*>& grids) {
  PaddedGrids out;
  out.count = static_cast<int64_t>(grids.size());
  for (const Grid* g : grids) {
    out.height = std::max<int64_t>(out.height, g->height);
    out.width = std::max<int64_t>(out.width, g->width);
  }
  const int64_t cells = out.height * out.width;
  out.colors.assign(static_cast<size_t>(out.count * cells), 0);
  out.coords.assign(static_cast<size_t>(out.count * cells * 2), 0.0f);
  out.mask.assign(static_cast<size_t>(out.count * cells), 0.0f);
  for (int64_t i = 0; i < out.count; ++i) {
    const Grid& g = *grids[static_cast<size_t>(i)];
    // Coordinates are normalised per grid, so a shape reads the same in a small or large grid.
    const float sy = g.height > 1 ? 1.0f / static_cast<float>(g.height - 1) : 0.0f;
    const float sx = g.width > 1 ? 1.0f / static_cast<float>(g.width - 1) : 0.0f;
    for (int y = 0; y < g.height; ++y) {
      for (int x = 0; x < g.width; ++x) {
        const size_t cell = static_cast<size_t>(i * cells + y * out.width + x);
        out.colors[cell] = std::clamp(g.at(y, x), 0, kNumColorIds - 1);
        out.coords[2 * cell] = static_cast<float>(y) * sy;
        out.coords[2 * cell + 1] = static_cast<float>(x) * sx;
        out.mask[cell] = 1.0f;
      }
    }
  }
  return out;
}

JepaBatch MakeJepaBatch(const std::vector<Task>& tasks, const std::vector<int64_t>& indices,
                        int context_window) {
  std::vector<const Grid*> context, target;
  context.reserve(indices.size() * static_cast<size_t>(context_window));
  target.reserve(indices.size());
  for (int64_t index : indices) {
    const Task& task = tasks[static_cast<size_t>(index)];
    for (int t = 0; t < context_window; ++t) context.push_back(&task.input);
    target.push_back(&task.output);
  }
  JepaBatch batch;
  batch.size = static_cast<int64_t>(indices.size());
  batch.context_window = context_window;
  batch.context = PadGrids(context);
  batch.target = PadGrids(target);
  return batch;
}

}  // namespace jepalab::trainer
