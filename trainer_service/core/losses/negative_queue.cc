#include "trainer_service/core/losses/negative_queue.h"

#include <torch/torch.h>

#include <algorithm>

namespace jepalab::trainer {

NegativeQueue::NegativeQueue(int64_t size, int64_t dim, const torch::Device& device)
    : size_(size), buffer_(torch::zeros({size, dim}, torch::TensorOptions().device(device))) {}

torch::Tensor NegativeQueue::Negatives() const { return buffer_.narrow(0, 0, fill_); }

void NegativeQueue::Enqueue(const torch::Tensor& rows) {
  if (size_ == 0 || rows.size(0) == 0) return;
  torch::NoGradGuard no_grad;
  torch::Tensor r = torch::nn::functional::normalize(
      rows.detach().to(torch::kFloat32), torch::nn::functional::NormalizeFuncOptions().dim(1));
  int64_t n = r.size(0);
  if (n >= size_) {
    buffer_.copy_(r.narrow(0, n - size_, size_));
    next_ = 0;
    fill_ = size_;
    return;
  }
  int64_t offset = 0;
  while (n > 0) {  // at most two chunks: up to the end of the ring, then from its start
    const int64_t chunk = std::min(n, size_ - next_);
    buffer_.narrow(0, next_, chunk).copy_(r.narrow(0, offset, chunk));
    next_ = (next_ + chunk) % size_;
    offset += chunk;
    n -= chunk;
  }
  fill_ = std::min(size_, fill_ + r.size(0));
}

void NegativeQueue::Restore(const torch::Tensor& buffer, int64_t ptr, int64_t fill) {
  TORCH_CHECK(buffer.sizes() == buffer_.sizes(), "NegativeQueue::Restore: shape mismatch");
  TORCH_CHECK(ptr >= 0 && fill >= 0 && fill <= size_ && (size_ == 0 || ptr < size_),
              "NegativeQueue::Restore: bad ptr/fill");
  torch::NoGradGuard no_grad;
  buffer_.copy_(buffer);
  next_ = ptr;
  fill_ = fill;
}

}  // namespace jepalab::trainer
