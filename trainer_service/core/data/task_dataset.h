// Train/validation split and per-epoch batch order over generated tasks (reference §1.5):
// seeded, torch-free, identical on every platform.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_TASK_DATASET_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_TASK_DATASET_H_

#include <cstdint>
#include <vector>

namespace jepalab::trainer {

struct DatasetSplit {
  std::vector<int64_t> train;       // sample indices
  std::vector<int64_t> validation;  // sample indices, in a fixed (seeded) order
};

// Random split of samples 0..n-1: validation gets max(1, round(n * fraction)) samples (round
// half to even, like Python), but never all of them when n >= 2 (the reference's random_split
// sizes). The permutation is a documented mt19937_64 Fisher-Yates seeded by MixSeed(seed, 0), not
// torch's random_split draw, which cannot be reproduced without torch.
DatasetSplit SplitSamples(int64_t n, double fraction, int64_t seed);

// Batches of one epoch: `indices` shuffled with a stream derived from (seed, epoch) when
// `shuffle`, cut into batch_size pieces; drop_last drops a short tail unless that would leave
// no batch at all.
std::vector<std::vector<int64_t>> EpochBatches(const std::vector<int64_t>& indices,
                                               int64_t batch_size, bool shuffle, bool drop_last,
                                               int64_t seed, int epoch);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_TASK_DATASET_H_
