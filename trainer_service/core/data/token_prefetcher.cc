#include "trainer_service/core/data/token_prefetcher.h"

#include <utility>

namespace jepalab::trainer {

TokenPrefetcher::TokenPrefetcher(const std::vector<GridSample>* samples,
                                 std::vector<std::vector<int64_t>> batches, int context_window,
                                 ObjectTokenizer tokenizer, SampleTransform transform, int depth)
    : samples_(samples),
      batches_(std::move(batches)),
      context_window_(context_window),
      tokenizer_(std::move(tokenizer)),
      transform_(std::move(transform)),
      depth_(static_cast<size_t>(depth < 1 ? 1 : depth)),
      producer_([this] { Produce(); }) {}

TokenPrefetcher::~TokenPrefetcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  producer_.join();
}

void TokenPrefetcher::Build(const std::vector<int64_t>& indices, TokenBatch* batch) {
  if (!transform_) {
    MakeTokenBatch(*samples_, indices, context_window_, &tokenizer_, batch);
    return;
  }
  std::vector<GridSample> copies;
  std::vector<int64_t> local;
  copies.reserve(indices.size());
  for (int64_t index : indices) {
    copies.push_back((*samples_)[static_cast<size_t>(index)]);
    transform_(index, &copies.back());
    local.push_back(static_cast<int64_t>(local.size()));
  }
  MakeTokenBatch(copies, local, context_window_, &tokenizer_, batch);
}

void TokenPrefetcher::Produce() {
  for (const std::vector<int64_t>& indices : batches_) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](TokenPrefetcher* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stop_ || p->ready_.size() < p->depth_;
          },
          this));
      if (stop_) return;
    }
    TokenBatch batch;
    Build(indices, &batch);  // outside the lock
    absl::MutexLock lock(&mu_);
    ready_.push_back(std::move(batch));
  }
}

bool TokenPrefetcher::Next(TokenBatch* batch) {
  if (consumed_ >= batches_.size()) return false;
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](TokenPrefetcher* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return !p->ready_.empty(); },
      this));
  *batch = std::move(ready_.front());
  ready_.pop_front();
  ++consumed_;
  return true;
}

}  // namespace jepalab::trainer
