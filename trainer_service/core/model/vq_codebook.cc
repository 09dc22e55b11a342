#include "trainer_service/core/model/vq_codebook.h"

#include <algorithm>
#include <cmath>

namespace jepalab::trainer {
namespace {

// Squared distances [R, K] as the reference computes them: ‖z‖² − 2 z·e + ‖e‖².
torch::Tensor SquaredDistances(const torch::Tensor& flat, const torch::Tensor& codebook) {
  return flat.pow(2).sum(1, /*keepdim=*/true) - 2 * torch::matmul(flat, codebook.t()) +
         codebook.pow(2).sum(1);
}

// exp(−Σ p log(p + 1e-10)) of a histogram over `rows` rows (§3.3).
torch::Tensor Entropy(const torch::Tensor& counts, int64_t rows) {
  const torch::Tensor p = counts / static_cast<double>(std::max<int64_t>(rows, 1));
  return -(p * (p + 1e-10).log()).sum();
}

}  // namespace

torch::Tensor UnreachableCodeCount(const torch::Tensor& code_norms,
                                   const torch::Tensor& input_norm_max) {
  const int64_t k = code_norms.size(0);
  if (k < 2) return torch::zeros({}, code_norms.options());
  const auto two = code_norms.topk(2, 0, /*largest=*/false, /*sorted=*/true);
  const torch::Tensor smallest = std::get<0>(two);
  const torch::Tensor is_min =
      torch::arange(k, torch::TensorOptions().device(code_norms.device())) == std::get<1>(two)[0];
  const torch::Tensor other_min = torch::where(is_min, smallest[1], smallest[0]);
  return (code_norms > 2 * input_norm_max + other_min).sum().to(code_norms.dtype());
}

VqCodebookOptions ReferenceVqOptions(int64_t num_embeddings, int64_t embedding_dim) {
  return VqCodebookOptions(num_embeddings, embedding_dim)
      .update_timing(VqUpdateTiming::kPerCall)
      .refresh_threshold(VqRefreshThreshold::kShareOfTotalMass)
      .ema_init(VqEmaInit::kCodebookCopy)
      .revival(VqRevival::kReference)
      .swapped_loss_weighting(true);
}

VqCodebookImpl::VqCodebookImpl(const VqCodebookOptions& options) : options_(options) {
  TORCH_CHECK(options_.num_embeddings() > 0 && options_.embedding_dim() > 0,
              "VqCodebook: num_embeddings and embedding_dim must be > 0");
  TORCH_CHECK(options_.refresh_interval() > 0, "VqCodebook: refresh_interval must be > 0");
  const int64_t k = options_.num_embeddings();
  const int64_t d = options_.embedding_dim();
  const double bound = 1.0 / static_cast<double>(k);  // nn.Embedding init U(−1/K, 1/K)
  // The codebook gets a gradient only when it is not EMA-trained (or in Gumbel mode).
  const bool trained = options_.mode() == VqMode::kGumbel || !UsesEma();
  codebook_ = register_parameter("codebook", torch::empty({k, d}).uniform_(-bound, bound),
                                 /*requires_grad=*/trained);
  ema_cluster_size_ = register_buffer("ema_cluster_size", torch::zeros({k}));
  ema_w_ = register_buffer("ema_w", options_.ema_init() == VqEmaInit::kCodebookCopy
                                        ? codebook_.detach().clone()
                                        : torch::zeros({k, d}));
  refresh_counter_ = register_buffer("refresh_counter", torch::zeros({}, torch::kInt64));
  gumbel_step_ = register_buffer("gumbel_step", torch::zeros({}, torch::kInt64));
  window_counts_ = register_buffer("window_counts", torch::zeros({k}));
  revived_ = register_buffer("revived", torch::zeros({k}, torch::kBool));
  pending_counts_ = register_buffer("pending_counts", torch::zeros({k}));
  pending_sums_ = register_buffer("pending_sums", torch::zeros({k, d}));
  candidate_rows_ = register_buffer("candidate_rows", torch::zeros({k, d}));
  candidate_errors_ = register_buffer("candidate_errors", torch::full({k}, -INFINITY));
}

int64_t VqCodebookImpl::refresh_counter() const { return refresh_counter_.item<int64_t>(); }
int64_t VqCodebookImpl::gumbel_step() const { return gumbel_step_.item<int64_t>(); }

double VqCodebookImpl::GumbelTemperature(int64_t step) const {
  const double t0 = options_.temperature_init();
  const double t1 = options_.temperature_min();
  const int64_t n = options_.temperature_anneal_steps();
  if (n <= 0) return t1;
  const double frac = std::min(1.0, static_cast<double>(step) / static_cast<double>(n));
  return t0 + (t1 - t0) * frac;
}

void VqCodebookImpl::SetState(const torch::Tensor& codebook, const torch::Tensor& ema_cluster_size,
                              const torch::Tensor& ema_w, int64_t refresh_counter) {
  torch::NoGradGuard no_grad;
  if (codebook.defined()) codebook_.copy_(codebook);
  if (ema_cluster_size.defined()) ema_cluster_size_.copy_(ema_cluster_size);
  if (ema_w.defined()) ema_w_.copy_(ema_w);
  refresh_counter_.fill_(refresh_counter);
}

VqOutput VqCodebookImpl::forward(const torch::Tensor& inputs) {
  return forward(inputs, torch::Tensor());
}

VqOutput VqCodebookImpl::forward(const torch::Tensor& inputs, const torch::Tensor& gumbel_noise) {
  TORCH_CHECK(inputs.dim() >= 1 && inputs.size(-1) == options_.embedding_dim(),
              "VqCodebook: inputs must be [..., ", options_.embedding_dim(), "], got ",
              inputs.sizes());
  return options_.mode() == VqMode::kGumbel ? ForwardGumbel(inputs, gumbel_noise)
                                            : ForwardHard(inputs);
}

VqOutput VqCodebookImpl::ForwardHard(const torch::Tensor& inputs) {
  const int64_t k = options_.num_embeddings();
  const torch::Tensor flat = inputs.reshape({-1, options_.embedding_dim()});
  const int64_t rows = flat.size(0);
  torch::Tensor distances, indices, counts, errors;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor z = flat.detach().to(codebook_.dtype());
    distances = SquaredDistances(z, codebook_.detach());
    indices = distances.argmin(1);
    counts = torch::bincount(indices, /*weights=*/{}, k).to(torch::kFloat32);
    if (options_.record_trace()) trace_ = VqTrace{distances.clone(), {}, {}, {}};
    if (is_training()) {
      window_counts_.add_(counts);
      errors = distances.gather(1, indices.unsqueeze(1)).squeeze(1);
      const torch::Tensor sums = torch::zeros_like(codebook_).index_add_(0, indices, z);
      if (options_.update_timing() == VqUpdateTiming::kPerCall) {
        if (UsesEma()) ApplyEma(counts, sums);
        if (options_.record_trace()) {
          trace_.codebook_after_ema = codebook_.detach().clone();
          trace_.ema_cluster_size_after_ema = ema_cluster_size_.clone();
          trace_.ema_w_after_ema = ema_w_.clone();
        }
        stats_.refresh = VqRefreshReport();
        if (options_.refresh_enabled()) TickAndMaybeRefresh(z, errors, counts);
        if (observer_ != nullptr && stats_.refresh.fired) observer_->OnRefreshCheck(stats_.refresh);
      } else {
        pending_counts_.add_(counts);
        pending_sums_.add_(sums);
        if (options_.refresh_enabled()) RetainCandidates(z, errors);
      }
    }
  }
  // The lookup uses the codebook after this call's update and refresh (§3.3).
  const torch::Tensor q = codebook_.index_select(0, indices).to(flat.dtype());
  const double beta = options_.commitment_cost();
  torch::Tensor loss;
  if (options_.swapped_loss_weighting()) {  // reference: mean((sg[q]−z)²) + β·mean((q−sg[z])²)
    loss = torch::mse_loss(flat, q.detach()) + beta * torch::mse_loss(q, flat.detach());
  } else {  // VQ-VAE: codebook term + β·commitment term
    loss = torch::mse_loss(q, flat.detach()) + beta * torch::mse_loss(flat, q.detach());
  }
  const torch::Tensor quantized = (flat + (q - flat).detach()).reshape(inputs.sizes());
  const torch::Tensor perplexity = Entropy(counts, rows).exp();
  if (options_.collect_stats()) {
    torch::NoGradGuard no_grad;
    CollectStats(flat.detach(), counts);
    if (observer_ != nullptr) observer_->OnCall(stats_);
  }
  auto index_shape = inputs.sizes().vec();
  index_shape.pop_back();
  return {quantized, indices.reshape(index_shape), loss, perplexity};
}

VqOutput VqCodebookImpl::ForwardGumbel(const torch::Tensor& inputs,
                                       const torch::Tensor& gumbel_noise) {
  const int64_t k = options_.num_embeddings();
  const torch::Tensor flat = inputs.reshape({-1, options_.embedding_dim()});
  const int64_t rows = flat.size(0);
  if (is_training()) gumbel_step_.add_(1);  // incremented before τ is read (§3.4)
  const double tau = GumbelTemperature(gumbel_step_.item<int64_t>());
  // Logits carry gradient into both z and the codebook.
  const torch::Tensor logits = -SquaredDistances(flat, codebook_.to(flat.dtype()));
  const torch::Tensor indices = logits.detach().argmax(1);
  torch::Tensor sample;
  if (is_training()) {
    torch::Tensor g = gumbel_noise;
    if (!g.defined()) {
      torch::NoGradGuard no_grad;  // as torch.nn.functional.gumbel_softmax draws it
      g = -torch::empty_like(logits).exponential_().log();
    }
    const torch::Tensor y_soft = ((logits + g) / tau).softmax(1);
    if (options_.straight_through()) {
      const torch::Tensor hard =
          torch::zeros_like(y_soft).scatter_(1, y_soft.detach().argmax(1, /*keepdim=*/true), 1.0);
      sample = hard - y_soft.detach() + y_soft;
    } else {
      sample = y_soft;
    }
  } else {
    sample = torch::one_hot(indices, k).to(flat.dtype());
  }
  const torch::Tensor quantized =
      torch::matmul(sample, codebook_.to(flat.dtype())).reshape(inputs.sizes());
  torch::Tensor counts;
  {
    torch::NoGradGuard no_grad;
    counts = torch::bincount(indices, /*weights=*/{}, k).to(torch::kFloat32);
  }
  const torch::Tensor entropy = Entropy(counts, rows);
  const torch::Tensor loss =
      options_.entropy_weight() * (1 - entropy / std::log(static_cast<double>(k)));
  if (options_.collect_stats()) {
    torch::NoGradGuard no_grad;
    if (is_training()) window_counts_.add_(counts);
    CollectStats(flat.detach(), counts);
    stats_.temperature = tau;
    if (observer_ != nullptr) observer_->OnCall(stats_);
  }
  auto index_shape = inputs.sizes().vec();
  index_shape.pop_back();
  return {quantized, indices.reshape(index_shape), loss, entropy.exp()};
}

void VqCodebookImpl::ApplyEma(const torch::Tensor& counts, const torch::Tensor& sums) {
  torch::NoGradGuard no_grad;
  const double gamma = *options_.ema_decay();
  const double eps = options_.epsilon();
  const int64_t k = options_.num_embeddings();
  ema_cluster_size_.mul_(gamma).add_(counts, 1 - gamma);
  ema_w_.mul_(gamma).add_(sums, 1 - gamma);
  const torch::Tensor n = ema_cluster_size_.sum();
  // Laplace smoothing (§3.3): ĉ_k = (c_k + ε) / (Σc + Kε) · Σc.
  const torch::Tensor smoothed = (ema_cluster_size_ + eps) / (n + k * eps) * n;
  const torch::Tensor updated = ema_w_ / smoothed.unsqueeze(1);
  if (options_.ema_init() == VqEmaInit::kCodebookCopy) {
    codebook_.copy_(updated);
  } else {
    // Zero-initialised sums: a code without EMA mass has no estimate and keeps its vector.
    codebook_.copy_(torch::where((ema_cluster_size_ > 0).unsqueeze(1), updated, codebook_));
  }
}

torch::Tensor VqCodebookImpl::DeadMask(const torch::Tensor& counts, torch::Tensor* usage) const {
  const double threshold = options_.refresh_usage_threshold();
  torch::Tensor share;
  if (options_.refresh_threshold() == VqRefreshThreshold::kShareOfTotalMass) {
    share = counts / counts.sum().clamp_min(1.0);
  } else {
    const torch::Tensor mean = counts.mean();
    share = torch::where(mean > 0, counts / mean, torch::zeros_like(counts));
  }
  if (usage != nullptr) *usage = share;
  return share <= threshold;
}

void VqCodebookImpl::TickAndMaybeRefresh(const torch::Tensor& rows, const torch::Tensor& errors,
                                         const torch::Tensor& batch_counts) {
  torch::NoGradGuard no_grad;
  VqRefreshReport& report = stats_.refresh;
  report = VqRefreshReport();
  refresh_counter_.add_(1);
  if (refresh_counter_.item<int64_t>() % options_.refresh_interval() != 0) return;
  report.fired = true;
  // Usage: EMA counts after this update, or this call's raw counts without EMA.
  const torch::Tensor counts = UsesEma() ? ema_cluster_size_ : batch_counts;
  const torch::Tensor dead = DeadMask(counts, &report.usage);
  report.usage = report.usage.clone();
  report.reconstruction_error = errors.clone();
  const torch::Tensor in_window = window_counts_ > 0;
  report.previous_revived = revived_.sum().item<int64_t>();
  report.previous_revived_survived = (revived_ & in_window).sum().item<int64_t>();
  const torch::Tensor dead_idx = dead.nonzero().squeeze(1).to(torch::kCPU);
  report.dead_codes.assign(dead_idx.data_ptr<int64_t>(),
                           dead_idx.data_ptr<int64_t>() + dead_idx.numel());
  revived_.fill_(false);
  window_counts_.zero_();
  // Every check that fires judges the previous revivals, also one that finds no dead code.
  revivals_survived_total_ += report.previous_revived_survived;
  if (report.dead_codes.empty()) return;  // the counter keeps running

  refresh_counter_.fill_(0);
  const torch::Tensor order = errors.argsort(/*dim=*/0, /*descending=*/true).to(torch::kCPU);
  report.candidate_order.assign(order.data_ptr<int64_t>(),
                                order.data_ptr<int64_t>() + order.numel());
  const int64_t r = static_cast<int64_t>(report.candidate_order.size());
  TORCH_CHECK(r > 0, "VqCodebook: refresh with no candidate rows");
  const torch::Tensor in_window_cpu = in_window.to(torch::kCPU);
  const bool consistent = options_.revival() == VqRevival::kConsistent;
  const double revived_count =
      UsesEma() && consistent ? std::max(ema_cluster_size_.mean().item<double>(), 1.0) : 0.0;
  for (size_t i = 0; i < report.dead_codes.size(); ++i) {
    const int64_t code = report.dead_codes[i];
    const int64_t row = report.candidate_order[i % r];
    VqReplacement rep{code, row, 0.0};
    codebook_[code].copy_(rows[row]);
    if (UsesEma()) {
      if (consistent) {
        rep.count_set_to = revived_count;
      } else {
        // Reference: the mean includes the codes revived so far, so it grows per revival.
        rep.count_set_to = std::max(ema_cluster_size_.mean().item<double>(), 1.0);
        ema_w_[code].copy_(rows[row]);
      }
      ema_cluster_size_[code].fill_(rep.count_set_to);
    }
    if (in_window_cpu[code].item<bool>()) ++report.reinitialised_in_use;
    revived_[code].fill_(true);
    report.replacements.push_back(rep);
  }
  if (UsesEma() && consistent) {
    // Sums consistent with the counts: w_k = row · ĉ_k, so the next EMA step keeps e_k ≈ row.
    const double eps = options_.epsilon();
    const torch::Tensor n = ema_cluster_size_.sum();
    const torch::Tensor smoothed =
        (ema_cluster_size_ + eps) / (n + options_.num_embeddings() * eps) * n;
    const torch::Tensor idx =
        torch::tensor(report.dead_codes, torch::kInt64).to(codebook_.device());
    ema_w_.index_copy_(0, idx,
                       codebook_.index_select(0, idx) * smoothed.index_select(0, idx).unsqueeze(1));
  }
  ++refresh_events_total_;
  codes_reinitialised_total_ += static_cast<int64_t>(report.replacements.size());
  reinitialised_in_use_total_ += report.reinitialised_in_use;
}

void VqCodebookImpl::RetainCandidates(const torch::Tensor& flat, const torch::Tensor& errors) {
  // Fixed-size buffers (empty slots hold error −inf) so that state_dict keeps pointing at them.
  const torch::Tensor all_rows = torch::cat({candidate_rows_, flat.detach()}, 0);
  const torch::Tensor all_errors = torch::cat({candidate_errors_, errors}, 0);
  const auto top =
      all_errors.topk(options_.num_embeddings(), /*dim=*/0, /*largest=*/true, /*sorted=*/true);
  candidate_rows_.copy_(all_rows.index_select(0, std::get<1>(top)));
  candidate_errors_.copy_(std::get<0>(top));
}

void VqCodebookImpl::OptimizerStep() {
  if (options_.update_timing() != VqUpdateTiming::kPerOptimizerStep ||
      options_.mode() == VqMode::kGumbel || !is_training()) {
    return;
  }
  torch::NoGradGuard no_grad;
  if (UsesEma()) ApplyEma(pending_counts_, pending_sums_);
  stats_.refresh = VqRefreshReport();
  if (options_.refresh_enabled()) {
    const torch::Tensor valid = candidate_errors_ > -INFINITY;  // sorted: valid slots come first
    const int64_t n = valid.sum().item<int64_t>();
    if (n > 0) {
      TickAndMaybeRefresh(candidate_rows_.narrow(0, 0, n), candidate_errors_.narrow(0, 0, n),
                          pending_counts_);
      if (observer_ != nullptr && stats_.refresh.fired) observer_->OnRefreshCheck(stats_.refresh);
    }
  }
  pending_counts_.zero_();
  pending_sums_.zero_();
  candidate_errors_.fill_(-INFINITY);
}

void VqCodebookImpl::CollectStats(const torch::Tensor& flat, const torch::Tensor& counts) {
  const int64_t rows = flat.size(0);
  const torch::Tensor usage_counts =
      options_.mode() == VqMode::kHard && UsesEma() ? ema_cluster_size_ : counts;
  const torch::Tensor code_norms = codebook_.detach().norm(2, 1).to(torch::kFloat64);
  const torch::Tensor input_norms = flat.norm(2, 1).to(torch::kFloat64);
  const torch::Tensor input_max = rows > 0 ? input_norms.max() : torch::zeros({}, torch::kFloat64);
  const torch::Tensor unreachable = UnreachableCodeCount(code_norms, input_max);
  const torch::Tensor packed =
      torch::stack(
          {Entropy(counts, rows).exp().to(torch::kFloat64), (counts > 0).sum().to(torch::kFloat64),
           DeadMask(usage_counts, nullptr).sum().to(torch::kFloat64), code_norms.max(),
           code_norms.median(), rows > 0 ? input_norms.mean() : torch::zeros({}, torch::kFloat64),
           input_max, unreachable})
          .to(torch::kCPU);
  const double* v = packed.data_ptr<double>();
  stats_.batch_counts = counts;
  stats_.rows = rows;
  stats_.perplexity = v[0];
  stats_.active_codes = static_cast<int64_t>(v[1]);
  stats_.dead_codes = static_cast<int64_t>(v[2]);
  stats_.code_norm_max = v[3];
  stats_.code_norm_median = v[4];
  stats_.input_norm_mean = v[5];
  stats_.input_norm_max = v[6];
  stats_.unreachable_codes = static_cast<int64_t>(v[7]);
  stats_.temperature = 0;
}

}  // namespace jepalab::trainer
