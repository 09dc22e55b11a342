#include "trainer_service/core/data/grid_sample.h"

#include <utility>

namespace jepalab::trainer {

std::vector<Grid> FitContext(std::vector<Grid> context, int context_window) {
  if (context.empty() || context_window <= 0) return {};
  const size_t window = static_cast<size_t>(context_window);
  if (context.size() > window) {
    context.erase(context.begin(), context.end() - static_cast<std::ptrdiff_t>(window));
  }
  while (context.size() < window) context.push_back(context.back());
  return context;
}

}  // namespace jepalab::trainer
