#include "trainer_service/core/data/batch_prefetcher.h"

#include <utility>

namespace jepalab::trainer {

BatchPrefetcher::BatchPrefetcher(const std::vector<Task>* tasks,
                                 std::vector<std::vector<int64_t>> batches, int context_window,
                                 int depth)
    : tasks_(tasks),
      batches_(std::move(batches)),
      context_window_(context_window),
      depth_(static_cast<size_t>(depth < 1 ? 1 : depth)),
      producer_([this] { Produce(); }) {}

BatchPrefetcher::~BatchPrefetcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  producer_.join();
}

void BatchPrefetcher::Produce() {
  for (const std::vector<int64_t>& indices : batches_) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](BatchPrefetcher* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stop_ || p->ready_.size() < p->depth_;
          },
          this));
      if (stop_) return;
    }
    JepaBatch batch = MakeJepaBatch(*tasks_, indices, context_window_);  // outside the lock
    absl::MutexLock lock(&mu_);
    ready_.push_back(std::move(batch));
    ++produced_;
  }
}

bool BatchPrefetcher::Next(JepaBatch* batch) {
  if (consumed_ >= batches_.size()) return false;
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](BatchPrefetcher* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return !p->ready_.empty(); },
      this));
  *batch = std::move(ready_.front());
  ready_.pop_front();
  ++consumed_;
  return true;
}

}  // namespace jepalab::trainer
