#include "trainer_service/core/diagnostics/embedding_metrics.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jepalab::trainer {
namespace {

constexpr double kJitter = 1e-6;  // §6: eigvalsh(Σ + 1e-6 I)

// Per-dimension standardisation, then 1 / (1 + mean|skew| + mean|excess kurtosis|) (§6).
double GaussianScore(const torch::Tensor& centred) {
  const torch::Tensor std = centred.std(0, /*unbiased=*/false).clamp_min(1e-6);
  const torch::Tensor z = centred / std;
  const torch::Tensor skew = z.pow(3).mean(0);
  const torch::Tensor kurt = z.pow(4).mean(0) - 3.0;
  return (1.0 / (1.0 + skew.abs().mean() + kurt.abs().mean())).item<double>();
}

double RankMe(const torch::Tensor& x) {
  // float64 Gram: in float32 the round-off of XᵀX alone (~1e-7·σ²max per eigenvalue) becomes
  // ~3e-4·σmax per singular value after the square root and inflates RankMe of low-rank data.
  const torch::Tensor x64 = x.to(torch::kFloat64);
  const torch::Tensor gram = torch::matmul(x64.t(), x64);
  const torch::Tensor sigma = torch::linalg_eigvalsh(gram).clamp_min(0).sqrt();
  const torch::Tensor p = sigma / sigma.sum().clamp_min(1e-12) + 1e-7;
  return (-(p * p.log()).sum()).exp().item<double>();
}

}  // namespace

absl::StatusOr<EmbeddingStats> ComputeEmbeddingStats(const torch::Tensor& input) {
  if (!input.defined() || input.dim() != 2 || input.size(0) < 2 || input.size(1) < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "embedding stats need a [n >= 2, d >= 1] matrix, got ",
        input.defined() ? c10::str(input.sizes()) : std::string("an undefined tensor")));
  }
  torch::NoGradGuard no_grad;
  EmbeddingStats stats;
  try {
    const torch::Tensor x = input.detach().to(torch::kFloat32);
    const int64_t n = x.size(0);
    const int64_t d = x.size(1);
    const torch::Tensor centred = x - x.mean(0, /*keepdim=*/true);
    stats.variance = x.var(0, /*unbiased=*/false).mean().item<double>();
    const torch::Tensor cov = torch::matmul(centred.t(), centred) / static_cast<double>(n - 1);
    torch::Tensor eig;
    try {
      eig = torch::linalg_eigvalsh(cov + kJitter * torch::eye(d, cov.options())).clamp_min(0);
    } catch (const c10::Error&) {
      stats.eigen_ok = false;  // the reference reports 0 for everything but variance
      return stats;
    }
    const torch::Tensor lmin = eig.min();
    const torch::Tensor lmax = eig.max();
    stats.isotropy = ((lmin + 1e-8) / (lmax.clamp_min(1e-8) + 1e-8)).item<double>();
    const torch::Tensor p = eig / eig.sum().clamp_min(1e-8);
    stats.effective_rank = (-(p * (p + 1e-12).log()).sum()).exp().item<double>();
    stats.gaussian_score = GaussianScore(centred);
    const torch::Tensor eig64 = eig.to(torch::kFloat64).contiguous();
    stats.eigenvalues.assign(eig64.data_ptr<double>(), eig64.data_ptr<double>() + d);
    const torch::Tensor bare = (eig64 - kJitter).clamp_min(0);
    const double sum = bare.sum().item<double>();
    const double sum_sq = bare.pow(2).sum().item<double>();
    stats.robust_isotropy = sum_sq > 0 ? sum * sum / (static_cast<double>(d) * sum_sq) : 0.0;
    stats.rankme = RankMe(x);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("embedding stats: ", e.what_without_backtrace()));
  }
  return stats;
}

EmbeddingDiagnosticsTracker::EmbeddingDiagnosticsTracker(int64_t interval, int64_t max_samples,
                                                         int64_t codebook_size)
    : interval_(std::max<int64_t>(interval, 1)),
      max_samples_(std::max<int64_t>(max_samples, 1)),
      codebook_size_(std::max<int64_t>(codebook_size, 0)),
      used_codes_(static_cast<size_t>(std::max<int64_t>(codebook_size, 0)), false) {}

absl::StatusOr<std::optional<EmbeddingEvent>> EmbeddingDiagnosticsTracker::Observe(
    const torch::Tensor& context, const torch::Tensor& target, const torch::Tensor& context_indices,
    const torch::Tensor& context_mask, const torch::Tensor& target_indices,
    const torch::Tensor& target_mask) {
  try {
    torch::NoGradGuard no_grad;
    auto append = [this](torch::Tensor& buffer, const torch::Tensor& rows) {
      const torch::Tensor r =
          rows.detach().to(torch::kCPU, torch::kFloat32).reshape({rows.size(0), -1});
      buffer = buffer.defined() ? torch::cat({buffer, r}, 0) : r.clone();
      if (buffer.size(0) > max_samples_)
        buffer = buffer.narrow(0, buffer.size(0) - max_samples_, max_samples_);
    };
    append(context_, context);
    append(target_, target);
    auto mark = [this](const torch::Tensor& indices, const torch::Tensor& mask) {
      if (!indices.defined() || codebook_size_ == 0) return;
      torch::Tensor idx = indices.detach().to(torch::kCPU, torch::kInt64).reshape(-1);
      if (mask.defined()) idx = idx.masked_select(mask.detach().to(torch::kCPU).reshape(-1) > 0.5);
      const torch::Tensor unique = std::get<0>(torch::_unique(idx));
      const int64_t* v = unique.data_ptr<int64_t>();
      for (int64_t i = 0; i < unique.numel(); ++i) {
        if (v[i] >= 0 && v[i] < codebook_size_) used_codes_[static_cast<size_t>(v[i])] = true;
      }
    };
    mark(context_indices, context_mask);
    mark(target_indices, target_mask);
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedding diagnostics: ", e.what_without_backtrace()));
  }
  ++step_;
  ++since_event_;
  if (since_event_ < interval_) return std::optional<EmbeddingEvent>();
  absl::StatusOr<EmbeddingEvent> event = Emit();
  if (!event.ok()) return event.status();
  return std::optional<EmbeddingEvent>(*std::move(event));
}

absl::StatusOr<std::optional<EmbeddingEvent>> EmbeddingDiagnosticsTracker::Flush() {
  if (since_event_ == 0) return std::optional<EmbeddingEvent>();
  absl::StatusOr<EmbeddingEvent> event = Emit();
  if (!event.ok()) return event.status();
  return std::optional<EmbeddingEvent>(*std::move(event));
}

absl::StatusOr<EmbeddingEvent> EmbeddingDiagnosticsTracker::Emit() {
  EmbeddingEvent event;
  event.step = step_;
  auto stats_of = [](const torch::Tensor& rows, EmbeddingStats* out,
                     int64_t* samples) -> absl::Status {
    *samples = rows.defined() ? rows.size(0) : 0;
    if (*samples < 2) return absl::OkStatus();  // too few rows: stats stay 0
    absl::StatusOr<EmbeddingStats> s = ComputeEmbeddingStats(rows);
    if (!s.ok()) return s.status();
    *out = *std::move(s);
    return absl::OkStatus();
  };
  absl::Status status = stats_of(context_, &event.context, &event.context_samples);
  if (status.ok()) status = stats_of(target_, &event.target, &event.target_samples);
  event.vq_active_codes = std::count(used_codes_.begin(), used_codes_.end(), true);
  event.vq_usage_ratio = codebook_size_ > 0 ? static_cast<double>(event.vq_active_codes) /
                                                  static_cast<double>(codebook_size_)
                                            : 0.0;
  context_ = torch::Tensor();
  target_ = torch::Tensor();
  std::fill(used_codes_.begin(), used_codes_.end(), false);
  since_event_ = 0;
  if (!status.ok()) return status;
  return event;
}

}  // namespace jepalab::trainer
