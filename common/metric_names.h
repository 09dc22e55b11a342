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
inline constexpr char kLossVq[] =
    "loss/vq";  // reported always; in loss/total only with compat.vq_loss_in_objective
inline constexpr char kLossL2[] = "loss/l2";  // loss.objective: sigreg
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
// "diagnostics/<encoder>/<stat>" with encoder context|target and stat one of the kStat* below.
inline constexpr char kDiagnosticsPrefix[] = "diagnostics/";
inline constexpr char kStatEffectiveRank[] = "effective_rank";    // reference definition
inline constexpr char kStatIsotropy[] = "isotropy";               // reference (jitter-dominated)
inline constexpr char kStatRankMe[] = "rankme";                   // entropy of singular values
inline constexpr char kStatIsotropyRobust[] = "isotropy_robust";  // not dominated by the jitter
inline constexpr char kStatVariance[] = "variance";
inline constexpr char kStatGaussianScore[] = "gaussian_score";

// VQ codebook health, per diagnostics window.
inline constexpr char kVqUsageRatio[] = "diagnostics/vq/usage_ratio";
inline constexpr char kVqActiveCodes[] = "diagnostics/vq/active_codes";
inline constexpr char kVqPerplexity[] = "diagnostics/vq/perplexity";
inline constexpr char kVqDeadCodes[] = "diagnostics/vq/dead_codes";
inline constexpr char kVqUnreachableCodes[] = "diagnostics/vq/unreachable_codes";
inline constexpr char kVqCodeNormMax[] = "diagnostics/vq/code_norm_max";
inline constexpr char kVqCodeNormMedian[] = "diagnostics/vq/code_norm_median";
inline constexpr char kVqInputNormMean[] = "diagnostics/vq/input_norm_mean";
// Cumulative counts since the run started.
inline constexpr char kVqRefreshes[] = "vq/refreshes";
inline constexpr char kVqCodesReinitialized[] = "vq/codes_reinitialized";
inline constexpr char kVqReinitializedInUse[] = "vq/reinitialized_in_use";  // were used last window
inline constexpr char kVqRevivalsSurvived[] = "vq/revivals_survived";       // won >= 1 assignment

}  // namespace jepalab::metric_names

#endif  // JEPALAB_COMMON_METRIC_NAMES_H_
