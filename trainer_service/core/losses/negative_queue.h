// Ring buffer of detached, re-normalised target projections used as extra InfoNCE negatives
// (reference §4.1, InfoNCEQueue). Entries are staged per micro-batch and enqueued only after
// a successful optimizer step (the trainer's job).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_LOSSES_NEGATIVE_QUEUE_H_
#define JEPALAB_TRAINER_SERVICE_CORE_LOSSES_NEGATIVE_QUEUE_H_

#include <torch/types.h>

namespace jepalab::trainer {

// Thread-compatible.
class NegativeQueue {
 public:
  NegativeQueue(int64_t size, int64_t dim, const torch::Device& device);

  // Rows [0, fill) in storage order, no grad; an empty [0, dim] tensor when nothing is queued.
  torch::Tensor Negatives() const;
  // Appends rows [n, dim] (detached, fp32, L2 re-normalised), overwriting the oldest entries;
  // n >= size replaces the whole queue with the last `size` rows.
  void Enqueue(const torch::Tensor& rows);

  int64_t size() const { return size_; }
  int64_t fill() const { return fill_; }
  // Row the next enqueue writes first (the reference's `ptr`).
  int64_t ptr() const { return next_; }

  // The whole ring [size, dim] (checkpoints), and its restoration with ptr and fill.
  const torch::Tensor& buffer() const { return buffer_; }
  void Restore(const torch::Tensor& buffer, int64_t ptr, int64_t fill);

 private:
  int64_t size_;
  torch::Tensor buffer_;  // [size, dim]
  int64_t next_ = 0;
  int64_t fill_ = 0;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_LOSSES_NEGATIVE_QUEUE_H_
