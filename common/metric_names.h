// Names of the metric series the trainer reports and metrics_service stores and exports.
// One place, so that reporters, the store, Prometheus families and dashboards agree.
#ifndef JEPALAB_COMMON_METRIC_NAMES_H_
#define JEPALAB_COMMON_METRIC_NAMES_H_

namespace jepalab::metric_names {

// Per optimizer step. Every loss component is "loss/<component>".
inline constexpr char kLossPrefix[] = "loss/";
inline constexpr char kLossTotal[] = "loss/total";
inline constexpr char kLossInfoNce[] = "loss/info_nce";
inline constexpr char kLossSigreg[] = "loss/sigreg";
inline constexpr char kLossInvariance[] = "loss/invariance";
inline constexpr char kLossRelational[] = "loss/relational";
inline constexpr char kLossVq[] = "loss/vq";
inline constexpr char kTemperature[] = "temperature";
inline constexpr char kLearningRate[] = "lr";
inline constexpr char kGradNorm[] = "grad_norm";  // before clipping
inline constexpr char kStepTimeSeconds[] = "step_time_seconds";
inline constexpr char kQueueFill[] = "queue/fill";

// Per epoch.
inline constexpr char kEpoch[] = "epoch";
inline constexpr char kTrainLoss[] = "train/loss";  // mean training loss of the epoch
inline constexpr char kValLoss[] = "val/loss";

// Diagnostics (every diagnostics.embedding_metrics.interval steps):
// "diagnostics/<encoder>/<stat>" with encoder context|target, stat effective_rank|isotropy|
// variance|gaussian_score, and the VQ codebook series below.
inline constexpr char kDiagnosticsPrefix[] = "diagnostics/";
inline constexpr char kVqUsageRatio[] = "diagnostics/vq/usage_ratio";
inline constexpr char kVqActiveCodes[] = "diagnostics/vq/active_codes";
inline constexpr char kVqPerplexity[] = "vq/perplexity";
inline constexpr char kVqDeadCodes[] = "vq/dead_codes";
inline constexpr char kVqRefreshes[] = "vq/refreshes";           // cumulative count
inline constexpr char kVqCodesReinitialized[] = "vq/codes_reinitialized";  // cumulative

}  // namespace jepalab::metric_names

#endif  // JEPALAB_COMMON_METRIC_NAMES_H_
