#include "trainer_service/core/diagnostics/vq_window.h"

#include <torch/torch.h>

#include <algorithm>

#include "trainer_service/core/model/vq_codebook.h"

namespace jepalab::trainer {

VqWindow::VqWindow(int64_t num_codes) : num_codes_(num_codes) {
  TORCH_CHECK(num_codes > 0, "VqWindow: num_codes must be > 0");
}

void VqWindow::AddCall(const torch::Tensor& batch_counts, int64_t rows, double input_norm_mean,
                       double input_norm_max) {
  TORCH_CHECK(batch_counts.numel() == num_codes_, "VqWindow: batch_counts must have ", num_codes_,
              " entries, got ", batch_counts.numel());
  torch::NoGradGuard no_grad;
  // float64: float32 sums stop counting exactly past 2^24 rows (a long window at large batches).
  const torch::Tensor counts = batch_counts.detach().reshape({-1}).to(torch::kFloat64);
  if (counts_.defined() && counts_.device() == counts.device()) {
    counts_.add_(counts);
  } else {
    counts_ = counts_.defined() ? counts_.to(counts.device()) + counts : counts.clone();
  }
  ++calls_;
  rows_ += rows;
  norm_sum_ += static_cast<double>(rows) * input_norm_mean;
  norm_max_ = std::max(norm_max_, input_norm_max);
}

VqWindowStats VqWindow::TakeStats(const torch::Tensor& codebook) {
  TORCH_CHECK(codebook.dim() == 2 && codebook.size(0) == num_codes_, "VqWindow: codebook must be [",
              num_codes_, ", D], got ", codebook.sizes());
  torch::NoGradGuard no_grad;
  VqWindowStats s;
  s.calls = calls_;
  s.rows = rows_;
  s.input_norm_max = norm_max_;
  s.input_norm_mean = rows_ > 0 ? norm_sum_ / static_cast<double>(rows_) : 0.0;
  const torch::Tensor code_norms = codebook.detach().norm(2, 1).to(torch::kFloat64);
  const torch::Tensor r = torch::full({}, norm_max_, code_norms.options());
  const torch::Tensor counts =
      counts_.defined() ? counts_.to(code_norms.device()) : torch::zeros_like(code_norms);
  const torch::Tensor p = counts / static_cast<double>(std::max<int64_t>(rows_, 1));
  const torch::Tensor packed =
      torch::stack({(counts > 0).sum().to(torch::kFloat64), (-(p * (p + 1e-10).log()).sum()).exp(),
                    UnreachableCodeCount(code_norms, r)})
          .to(torch::kCPU);
  const double* v = packed.data_ptr<double>();
  s.active_codes = static_cast<int64_t>(v[0]);
  s.usage_ratio = static_cast<double>(s.active_codes) / static_cast<double>(num_codes_);
  s.dead_codes = num_codes_ - s.active_codes;
  s.perplexity = rows_ > 0 ? v[1] : 0.0;
  s.unreachable_codes = calls_ > 0 ? static_cast<int64_t>(v[2]) : 0;
  counts_ = torch::Tensor();
  calls_ = 0;
  rows_ = 0;
  norm_sum_ = 0;
  norm_max_ = 0;
  return s;
}

}  // namespace jepalab::trainer
