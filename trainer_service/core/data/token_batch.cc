#include "trainer_service/core/data/token_batch.h"

#include <algorithm>

namespace jepalab::trainer {
namespace {

// Copies one tokenised grid into slot `slot` of the three arrays.
void Place(const TokenizedGrid& grid, int64_t slot, int64_t n, int64_t f,
           std::vector<float>* features, std::vector<float>* mask, std::vector<float>* adjacency) {
  std::copy(grid.features.begin(), grid.features.end(), features->begin() + slot * n * f);
  std::copy(grid.mask.begin(), grid.mask.end(), mask->begin() + slot * n);
  std::copy(grid.adjacency.begin(), grid.adjacency.end(), adjacency->begin() + slot * n * n);
}

}  // namespace

void MakeTokenBatch(const std::vector<GridSample>& samples, const std::vector<int64_t>& indices,
                    int context_window, ObjectTokenizer* tokenizer, TokenBatch* out) {
  const int64_t b = static_cast<int64_t>(indices.size());
  const int64_t t = context_window;
  const int64_t n = tokenizer->options().max_objects;
  const int64_t f = tokenizer->options().feature_dim();
  out->size = b;
  out->context_window = t;
  out->max_objects = n;
  out->feature_dim = f;
  out->context_features.assign(static_cast<size_t>(b * t * n * f), 0.0f);
  out->context_mask.assign(static_cast<size_t>(b * t * n), 0.0f);
  out->context_adjacency.assign(static_cast<size_t>(b * t * n * n), 0.0f);
  out->target_features.assign(static_cast<size_t>(b * n * f), 0.0f);
  out->target_mask.assign(static_cast<size_t>(b * n), 0.0f);
  out->target_adjacency.assign(static_cast<size_t>(b * n * n), 0.0f);
  TokenizedGrid tokens;
  for (int64_t i = 0; i < b; ++i) {
    const GridSample& sample = samples[static_cast<size_t>(indices[static_cast<size_t>(i)])];
    const Grid* previous = nullptr;
    for (int64_t j = 0; j < t; ++j) {
      const Grid& grid =
          sample.context[static_cast<size_t>(std::min<int64_t>(j, sample.context.size() - 1))];
      if (previous == nullptr || *previous != grid) tokenizer->Tokenize(grid, &tokens);
      previous = &grid;
      Place(tokens, i * t + j, n, f, &out->context_features, &out->context_mask,
            &out->context_adjacency);
    }
    tokenizer->Tokenize(sample.target, &tokens);
    Place(tokens, i, n, f, &out->target_features, &out->target_mask, &out->target_adjacency);
  }
}

std::vector<GridSample> SamplesFromTasks(const std::vector<Task>& tasks, int context_window) {
  std::vector<GridSample> samples;
  samples.reserve(tasks.size());
  for (const Task& task : tasks) {
    GridSample s;
    s.id = task.id;
    s.context.assign(static_cast<size_t>(std::max(context_window, 1)), task.input);
    s.target = task.output;
    samples.push_back(std::move(s));
  }
  return samples;
}

}  // namespace jepalab::trainer
