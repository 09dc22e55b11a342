// Aggregates the statistics of every VQ call between two diagnostics events (issue 12 item 4):
// the summed per-code assignment histogram, the row-weighted mean and the max input norm, the
// number of calls. The event's usage, perplexity and dead codes come from the whole window
// instead of the last call's snapshot.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_DIAGNOSTICS_VQ_WINDOW_H_
#define JEPALAB_TRAINER_SERVICE_CORE_DIAGNOSTICS_VQ_WINDOW_H_

#include <torch/types.h>

#include <cstdint>

namespace jepalab::trainer {

struct VqWindowStats {
  int64_t calls = 0;         // VQ calls aggregated
  int64_t rows = 0;          // rows assigned over those calls (padding slots included)
  int64_t active_codes = 0;  // codes with >= 1 assignment in the window
  double usage_ratio = 0;    // active_codes / K
  // exp(−Σ p log(p + 1e-10)), p = the window's counts / rows: the per-call formula (§3.3)
  // applied to the summed histogram, so it is not the mean of the per-call perplexities.
  double perplexity = 0;
  // Codes with zero assignments over the whole window (K − active_codes). Not the refresh
  // rule's "dead" (EMA share <= threshold at a check), which can call a code dead that still
  // wins a few rows, and does not see a code that lost all its rows since the last check.
  int64_t dead_codes = 0;
  // VqCallStats' bound (‖e_k‖ > 2r + min_{j≠k} ‖e_j‖) for the codebook at the window's end,
  // with r = the largest input-row norm of the whole window.
  int64_t unreachable_codes = 0;
  double input_norm_mean = 0;  // mean L2 norm over all rows of the window
  double input_norm_max = 0;
};

// Thread-compatible. The counts stay on the device of the calls' batch_counts.
class VqWindow {
 public:
  explicit VqWindow(int64_t num_codes);

  // One call: batch_counts [K] (any float dtype and device; not kept), its row count and its
  // rows' mean and max L2 norm.
  void AddCall(const torch::Tensor& batch_counts, int64_t rows, double input_norm_mean,
               double input_norm_max);
  int64_t calls() const { return calls_; }

  // The window's statistics, with `codebook` [K, D] the state at the window's end for the
  // reachability bound (one host sync), then empties the window. With no call in the window,
  // everything is 0 except dead_codes = K.
  VqWindowStats TakeStats(const torch::Tensor& codebook);

 private:
  int64_t num_codes_;
  torch::Tensor counts_;  // [K] float64; undefined until the first call after a reset
  int64_t calls_ = 0;
  int64_t rows_ = 0;
  double norm_sum_ = 0;  // Σ over calls of rows · mean norm
  double norm_max_ = 0;
};

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_DIAGNOSTICS_VQ_WINDOW_H_
