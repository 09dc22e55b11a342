// Builds the token batches of one pass over the data on a background thread, a few batches
// ahead of the training step (augmentation and tokenisation run there, not on the step).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_TOKEN_PREFETCHER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_TOKEN_PREFETCHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "trainer_service/core/data/grid_sample.h"
#include "trainer_service/core/data/object_tokenizer.h"
#include "trainer_service/core/data/token_batch.h"

namespace jepalab::trainer {

// Rewrites a copy of sample `index` before tokenisation (augmentations); may be empty.
using SampleTransform = std::function<void(int64_t index, GridSample* sample)>;

// Thread-compatible (one consumer). `samples` must outlive the prefetcher.
class TokenPrefetcher {
 public:
  TokenPrefetcher(const std::vector<GridSample>* samples, std::vector<std::vector<int64_t>> batches,
                  int context_window, ObjectTokenizer tokenizer,
                  SampleTransform transform = nullptr, int depth = 2);
  ~TokenPrefetcher();  // stops and joins the producer
  TokenPrefetcher(const TokenPrefetcher&) = delete;
  TokenPrefetcher& operator=(const TokenPrefetcher&) = delete;

  // The next batch in order; false after the last one.
  bool Next(TokenBatch* batch);

 private:
  void Produce();
  void Build(const std::vector<int64_t>& indices, TokenBatch* batch);

  const std::vector<GridSample>* samples_;
  const std::vector<std::vector<int64_t>> batches_;
  const int context_window_;
  ObjectTokenizer tokenizer_;  // producer thread only
  SampleTransform transform_;
  const size_t depth_;
  absl::Mutex mu_;
  std::deque<TokenBatch> ready_ ABSL_GUARDED_BY(mu_);
  size_t consumed_ = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread producer_;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_TOKEN_PREFETCHER_H_
