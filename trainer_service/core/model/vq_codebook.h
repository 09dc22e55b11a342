// Vector-quantisation codebook (reference §3.3 hard VQ with EMA k-means updates and dead-code
// refresh, §3.4 Gumbel-softmax VQ), with every reference quirk that changes training behind an
// explicit option (docs/reference_compat.md) and per-call statistics for the diagnostics (§6).
#ifndef JEPALAB_TRAINER_SERVICE_CORE_MODEL_VQ_CODEBOOK_H_
#define JEPALAB_TRAINER_SERVICE_CORE_MODEL_VQ_CODEBOOK_H_

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace jepalab::trainer {

enum class VqMode { kHard, kGumbel };

// When the EMA statistics are folded in and the refresh counter ticks.
enum class VqUpdateTiming {
  kPerCall,           // reference (hazard §0.3): every training-mode forward call
  kPerOptimizerStep,  // forward calls accumulate; OptimizerStep() applies one update
};

// Which codes the refresh check calls dead.
enum class VqRefreshThreshold {
  kShareOfTotalMass,  // reference (§0.2): c_k / max(Σc, 1) <= threshold
  kRelativeToMean,    // c_k <= threshold * mean(c): "below threshold x the uniform share"
};

// The EMA state the module starts from.
enum class VqEmaInit {
  kCodebookCopy,  // reference (§0.13): w = codebook, c = 0, no bias correction
  kZero,          // w = 0, c = 0; a code's vector moves only once it has EMA mass (c_k > 0)
};

// What a revived code's EMA state becomes.
enum class VqRevival {
  kReference,   // §0.14: w_k = row, c_k = max(mean(c), 1) with the mean re-evaluated per code
  kConsistent,  // c_k = max(mean(c before refresh), 1), w_k = row * ĉ_k: the code stays at the row
};

struct VqCodebookOptions {
  VqCodebookOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}

  TORCH_ARG(int64_t, num_embeddings);
  TORCH_ARG(int64_t, embedding_dim);
  TORCH_ARG(VqMode, mode) = VqMode::kHard;
  TORCH_ARG(double, commitment_cost) = 0.25;
  // Unset: no EMA; the codebook is a trained parameter (its gradient comes from the loss).
  TORCH_ARG(std::optional<double>, ema_decay) = 0.99;
  TORCH_ARG(double, epsilon) = 1e-5;
  TORCH_ARG(bool, refresh_enabled) = false;
  TORCH_ARG(int64_t, refresh_interval) = 500;
  TORCH_ARG(double, refresh_usage_threshold) = 0.05;
  // Gumbel mode (§3.4).
  TORCH_ARG(double, temperature_init) = 1.0;
  TORCH_ARG(double, temperature_min) = 0.1;
  TORCH_ARG(int64_t, temperature_anneal_steps) = 4000;
  TORCH_ARG(bool, straight_through) = true;
  TORCH_ARG(double, entropy_weight) = 0.01;
  // Reference-compatibility switches; the defaults are the corrected behaviour.
  TORCH_ARG(VqUpdateTiming, update_timing) = VqUpdateTiming::kPerOptimizerStep;
  TORCH_ARG(VqRefreshThreshold, refresh_threshold) = VqRefreshThreshold::kRelativeToMean;
  TORCH_ARG(VqEmaInit, ema_init) = VqEmaInit::kZero;
  TORCH_ARG(VqRevival, revival) = VqRevival::kConsistent;
  // §0.12: true gives mean((sg[q]-z)^2) + β·mean((q-sg[z])^2) (reference); false the VQ-VAE form
  // mean((q-sg[z])^2) + β·mean((z-sg[q])^2). Same value, different gradients.
  TORCH_ARG(bool, swapped_loss_weighting) = false;
  // Compute VqCallStats on every call (a few small reductions and one host sync).
  TORCH_ARG(bool, collect_stats) = true;
  // Keep the intermediates of the last call in VqTrace (tests and debugging).
  TORCH_ARG(bool, record_trace) = false;
};

// The reference's settings for every switch above (the a6000 baseline).
VqCodebookOptions ReferenceVqOptions(int64_t num_embeddings, int64_t embedding_dim);

struct VqOutput {
  torch::Tensor quantized;   // input shape; straight-through (hard) or sample @ codebook (Gumbel)
  torch::Tensor indices;     // input shape without the last dim, int64, noise-free argmin
  torch::Tensor loss;        // scalar: commitment/codebook loss (hard) or entropy "loss" (Gumbel)
  torch::Tensor perplexity;  // scalar: exp(H) of this call's assignment histogram over all rows
};

struct VqReplacement {
  int64_t code = 0;
  int64_t row = 0;          // row of this call's (or step's) flattened input
  double count_set_to = 0;  // EMA count given to the code (0 without EMA)
};

// What the last refresh check did.
struct VqRefreshReport {
  bool fired = false;                    // counter % interval == 0 on this call/step
  torch::Tensor usage;                   // [K] the share the rule compared (see VqRefreshThreshold)
  std::vector<int64_t> dead_codes;       // ascending
  std::vector<int64_t> candidate_order;  // rows by distance to their code, largest first
  torch::Tensor reconstruction_error;    // [R] each row's pre-update distance to its code
  std::vector<VqReplacement> replacements;
  int64_t reinitialised_in_use = 0;  // replaced codes that won >= 1 row since the previous check
  // Codes revived at the previous check, and how many of them won >= 1 row since then.
  int64_t previous_revived = 0;
  int64_t previous_revived_survived = 0;
};

// Statistics of one forward call (plus the refresh check of that call or step).
struct VqCallStats {
  torch::Tensor batch_counts;  // [K] float32, rows assigned to each code in this call
  int64_t rows = 0;            // rows of this call (the sum of batch_counts)
  double perplexity = 0;
  int64_t active_codes = 0;  // codes with >= 1 row in this call
  int64_t dead_codes = 0;    // codes the refresh rule calls dead at the current state
  double code_norm_max = 0;
  double code_norm_median = 0;
  double input_norm_mean = 0;  // mean L2 norm of this call's rows
  double input_norm_max = 0;
  // Codes with ‖e_k‖ > 2·r + min_{j≠k} ‖e_j‖, r = input_norm_max: for any x with ‖x‖ <= r,
  // ‖x − e_k‖ >= ‖e_k‖ − r > r + ‖e_j‖ >= ‖x − e_j‖, so no input of this call's size can select
  // code k. A lower bound on the codes no input can select (exact for the §0.13 blow-ups).
  int64_t unreachable_codes = 0;
  double temperature = 0;   // Gumbel τ used (0 in hard mode)
  VqRefreshReport refresh;  // valid when refresh.fired
};

// The bound of VqCallStats::unreachable_codes as a scalar tensor (no host sync): codes of
// `code_norms` [K] (float64) with norm > 2·input_norm_max + the smallest norm of the others.
torch::Tensor UnreachableCodeCount(const torch::Tensor& code_norms,
                                   const torch::Tensor& input_norm_max);

// Told about every call's statistics and every refresh check (the trainer's diagnostics window
// and per-refresh points). Called on the thread that runs the module; keep it cheap.
class VqCallObserver {
 public:
  virtual ~VqCallObserver() = default;
  // After every forward call with collect_stats, in training and in eval mode.
  virtual void OnCall(const VqCallStats& stats) = 0;
  // After every refresh check that fired (on a training call, or in OptimizerStep()).
  virtual void OnRefreshCheck(const VqRefreshReport& report) = 0;
};

// Intermediates of the last call, recorded only with record_trace (golden tests).
struct VqTrace {
  torch::Tensor distances;           // [R, K] squared distances to the codebook before this call
  torch::Tensor codebook_after_ema;  // state right after the EMA step (before any refresh)
  torch::Tensor ema_cluster_size_after_ema;
  torch::Tensor ema_w_after_ema;
};

// Owns its parameters and buffers (registered: `codebook` parameter; `ema_cluster_size`,
// `ema_w`, `refresh_counter`, `gumbel_step`, window/revival/pending-step buffers), so state_dict
// holds all of its state. Not thread-safe. Training mode (Module::is_training) decides whether
// a call updates the EMA and ticks the counters, as in the reference.
class VqCodebookImpl : public torch::nn::Module {
 public:
  explicit VqCodebookImpl(const VqCodebookOptions& options);

  void reset() {}

  // inputs [..., D] -> VqOutput. Hard mode: distances under no-grad, argmin, EMA update and
  // refresh (training, per-call timing), then the lookup in the updated codebook.
  VqOutput forward(const torch::Tensor& inputs);
  // Gumbel mode with explicit Gumbel noise [R, K] (tests); hard mode ignores the noise.
  VqOutput forward(const torch::Tensor& inputs, const torch::Tensor& gumbel_noise);

  // Per-optimizer-step timing: folds the statistics accumulated since the last step into the
  // EMA, ticks the refresh counter once and runs the refresh check (revived codes take the rows
  // with the largest errors among those the step's calls retained). A no-op with per-call timing
  // or in Gumbel mode. The trainer calls it after each successful optimizer step.
  void OptimizerStep();

  // Overwrites the state (golden tests; resuming from foreign checkpoints). Shapes must match;
  // an undefined tensor leaves that part unchanged.
  void SetState(const torch::Tensor& codebook, const torch::Tensor& ema_cluster_size,
                const torch::Tensor& ema_w, int64_t refresh_counter);

  const VqCodebookOptions& options() const { return options_; }
  const torch::Tensor& codebook() const { return codebook_; }
  const torch::Tensor& ema_cluster_size() const { return ema_cluster_size_; }
  const torch::Tensor& ema_w() const { return ema_w_; }
  int64_t refresh_counter() const;
  int64_t gumbel_step() const;
  // τ for a given Gumbel step: linear from temperature_init to temperature_min over
  // temperature_anneal_steps, then constant.
  double GumbelTemperature(int64_t step) const;

  const VqCallStats& last_stats() const { return stats_; }
  // Not owned; null (the default) for none. The observer must outlive the calls it sees.
  void set_observer(VqCallObserver* observer) { observer_ = observer; }
  const VqTrace& last_trace() const { return trace_; }
  int64_t refresh_events_total() const { return refresh_events_total_; }
  int64_t codes_reinitialised_total() const { return codes_reinitialised_total_; }
  // Cumulative refresh outcomes: replaced codes still in use, revived codes that survived.
  int64_t reinitialised_in_use_total() const { return reinitialised_in_use_total_; }
  int64_t revivals_survived_total() const { return revivals_survived_total_; }
  // Restores the four cumulative counters (resuming from a checkpoint).
  void RestoreTotals(int64_t refreshes, int64_t reinitialised, int64_t in_use, int64_t survived) {
    refresh_events_total_ = refreshes;
    codes_reinitialised_total_ = reinitialised;
    reinitialised_in_use_total_ = in_use;
    revivals_survived_total_ = survived;
  }

 private:
  bool UsesEma() const { return options_.ema_decay().has_value(); }
  VqOutput ForwardHard(const torch::Tensor& inputs);
  VqOutput ForwardGumbel(const torch::Tensor& inputs, const torch::Tensor& gumbel_noise);
  // Folds counts [K] and sums [K, D] into the EMA and recomputes the codebook.
  void ApplyEma(const torch::Tensor& counts, const torch::Tensor& sums);
  // Ticks the counter; on a check, replaces dead codes by the rows `rows` [R, D] in the order
  // of `errors` [R] (largest first). `batch_counts` is the usage source without EMA.
  void TickAndMaybeRefresh(const torch::Tensor& rows, const torch::Tensor& errors,
                           const torch::Tensor& batch_counts);
  // Boolean [K] dead mask under the configured rule, from usage counts [K].
  torch::Tensor DeadMask(const torch::Tensor& counts, torch::Tensor* usage) const;
  void CollectStats(const torch::Tensor& flat, const torch::Tensor& counts);
  // Keeps at most K rows with the largest errors across the calls of one optimizer step.
  void RetainCandidates(const torch::Tensor& flat, const torch::Tensor& errors);

  VqCodebookOptions options_;
  torch::Tensor codebook_;          // [K, D] parameter
  torch::Tensor ema_cluster_size_;  // [K]
  torch::Tensor ema_w_;             // [K, D]
  torch::Tensor refresh_counter_;   // int64 scalar
  torch::Tensor gumbel_step_;       // int64 scalar
  torch::Tensor window_counts_;     // [K] rows won since the previous refresh check
  torch::Tensor revived_;           // [K] bool, codes revived at the previous check
  torch::Tensor pending_counts_;    // [K] per-step timing: counts since the last step
  torch::Tensor pending_sums_;      // [K, D]
  torch::Tensor candidate_rows_;    // [<=K, D] per-step timing: retained refresh candidates
  torch::Tensor candidate_errors_;  // [<=K]

  VqCallStats stats_;
  VqTrace trace_;
  VqCallObserver* observer_ = nullptr;
  int64_t refresh_events_total_ = 0;
  int64_t codes_reinitialised_total_ = 0;
  int64_t reinitialised_in_use_total_ = 0;
  int64_t revivals_survived_total_ = 0;
};
TORCH_MODULE(VqCodebook);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_MODEL_VQ_CODEBOOK_H_
