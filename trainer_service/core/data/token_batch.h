// Micro-batches of object tokens (reference §2, §1.3): every sample's context_window context
// grids and its target grid tokenised into flat float arrays that the model copies into
// [B,T,N,F] / [B,N,F] tensors. Torch-free, so batches are built on the prefetch thread.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_TOKEN_BATCH_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_TOKEN_BATCH_H_

#include <cstdint>
#include <vector>

#include "trainer_service/core/data/grid_sample.h"
#include "trainer_service/core/data/object_tokenizer.h"

namespace jepalab::trainer {

struct TokenBatch {
  int64_t size = 0;                      // B
  int64_t context_window = 0;            // T
  int64_t max_objects = 0;               // N
  int64_t feature_dim = 0;               // F
  std::vector<float> context_features;   // [B, T, N, F]
  std::vector<float> context_mask;       // [B, T, N]
  std::vector<float> context_adjacency;  // [B, T, N, N]
  std::vector<float> target_features;    // [B, N, F]
  std::vector<float> target_mask;        // [B, N]
  std::vector<float> target_adjacency;   // [B, N, N]
};

// Tokenizes samples[indices] (each with exactly `context_window` context grids, see FitContext)
// into `out`, reusing its buffers. A context grid equal to the previous one is copied, not
// re-tokenised (generator samples repeat their input, §0.6).
void MakeTokenBatch(const std::vector<GridSample>& samples, const std::vector<int64_t>& indices,
                    int context_window, ObjectTokenizer* tokenizer, TokenBatch* out);

// Generator tasks as samples: context = the input repeated context_window times, target = the
// output (reference §0.6).
std::vector<GridSample> SamplesFromTasks(const std::vector<Task>& tasks, int context_window);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_TOKEN_BATCH_H_
