#include "trainer_service/core/data/task_dataset.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "trainer_service/core/data/grid_generator.h"

namespace jepalab::trainer {

DatasetSplit SplitSamples(int64_t n, double fraction, int64_t seed) {
  DatasetSplit split;
  if (n <= 0) return split;
  // Python's round() (half to even), as the reference's max(1, round(len * split)) (§1.5); the
  // permutation itself is ours (TaskRng Fisher-Yates on MixSeed(seed, 0)): torch's random_split
  // RNG cannot be reproduced without torch, and no golden file pins it.
  int64_t val =
      std::max<int64_t>(1, static_cast<int64_t>(std::nearbyint(static_cast<double>(n) * fraction)));
  if (n >= 2) val = std::min(val, n - 1);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  TaskRng rng(MixSeed(static_cast<uint64_t>(seed), /*stream=*/0));
  rng.Shuffle(order);
  split.validation.assign(order.begin(), order.begin() + val);
  split.train.assign(order.begin() + val, order.end());
  if (n == 1) split.train = split.validation;  // one sample: train and validate on it
  std::sort(split.train.begin(), split.train.end());
  return split;
}

std::vector<std::vector<int64_t>> EpochBatches(const std::vector<int64_t>& indices,
                                               int64_t batch_size, bool shuffle, bool drop_last,
                                               int64_t seed, int epoch) {
  std::vector<int64_t> order = indices;
  if (shuffle) {
    TaskRng rng(MixSeed(static_cast<uint64_t>(seed), static_cast<uint64_t>(epoch) + 1));
    rng.Shuffle(order);
  }
  std::vector<std::vector<int64_t>> batches;
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size));
    if (drop_last && end - start < static_cast<size_t>(batch_size) && !batches.empty()) break;
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

}  // namespace jepalab::trainer
