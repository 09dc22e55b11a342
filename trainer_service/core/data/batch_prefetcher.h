// Builds the padded batches of one pass over the data on a background thread, a few batches
// ahead of the training step (DESIGN.md: data preparation runs ahead of the step).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DATA_BATCH_PREFETCHER_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DATA_BATCH_PREFETCHER_H_

#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "trainer_service/core/data/grid_batch.h"
#include "trainer_service/core/data/grid_generator.h"

namespace jepalab::trainer {

// Thread-compatible (one consumer). `tasks` must outlive the prefetcher.
class BatchPrefetcher {
 public:
  BatchPrefetcher(const std::vector<Task>* tasks, std::vector<std::vector<int64_t>> batches,
                  int context_window, int depth = 2);
  ~BatchPrefetcher();  // stops and joins the producer
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The next batch in order; false after the last one.
  bool Next(JepaBatch* batch);

 private:
  void Produce();

  const std::vector<Task>* tasks_;
  const std::vector<std::vector<int64_t>> batches_;
  const int context_window_;
  const size_t depth_;
  absl::Mutex mu_;
  std::deque<JepaBatch> ready_ ABSL_GUARDED_BY(mu_);
  size_t produced_ ABSL_GUARDED_BY(mu_) = 0;
  size_t consumed_ = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread producer_;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DATA_BATCH_PREFETCHER_H_
