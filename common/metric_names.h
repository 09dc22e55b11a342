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

// VQ codebook health at each diagnostics event, one set per VQ: "diagnostics/<vq>/<stat>" with
// <vq> = kVqOnline (the online encoder's VQ) or kVqTarget (the EMA target encoder's own VQ, only
// with loss.use_target_encoder). Window aggregates cover every VQ call of the training
// micro-batches since the previous event (validation excluded); docs/monitoring.md.
inline constexpr char kVqOnline[] = "vq";
inline constexpr char kVqTarget[] = "vq_target";
inline constexpr char kVqStatUsageRatio[] = "usage_ratio";    // window: active_codes / K
inline constexpr char kVqStatActiveCodes[] = "active_codes";  // window: codes with >= 1 row
inline constexpr char kVqStatPerplexity[] = "perplexity";     // window: exp(H) of the histogram
inline constexpr char kVqStatDeadCodes[] = "dead_codes";      // window: codes with 0 rows
inline constexpr char kVqStatUnreachableCodes[] = "unreachable_codes";  // window end vs max norm
inline constexpr char kVqStatWindowCalls[] = "window_calls";            // VQ calls aggregated
inline constexpr char kVqStatInputNormMean[] = "input_norm_mean";       // window, over all rows
inline constexpr char kVqStatInputNormMax[] = "input_norm_max";         // window
// State at the event (not windowed): the refresh rule's dead codes, code norms.
inline constexpr char kVqStatRefreshRuleDeadCodes[] = "refresh_rule_dead_codes";
inline constexpr char kVqStatCodeNormMax[] = "code_norm_max";
inline constexpr char kVqStatCodeNormMedian[] = "code_norm_median";
// The online VQ's names in full (what metrics_service, the scheduler and the CLI read).
inline constexpr char kVqUsageRatio[] = "diagnostics/vq/usage_ratio";
inline constexpr char kVqActiveCodes[] = "diagnostics/vq/active_codes";
inline constexpr char kVqPerplexity[] = "diagnostics/vq/perplexity";
inline constexpr char kVqDeadCodes[] = "diagnostics/vq/dead_codes";
inline constexpr char kVqUnreachableCodes[] = "diagnostics/vq/unreachable_codes";
inline constexpr char kVqWindowCalls[] = "diagnostics/vq/window_calls";
inline constexpr char kVqRefreshRuleDeadCodes[] = "diagnostics/vq/refresh_rule_dead_codes";
inline constexpr char kVqCodeNormMax[] = "diagnostics/vq/code_norm_max";
inline constexpr char kVqCodeNormMedian[] = "diagnostics/vq/code_norm_median";
inline constexpr char kVqInputNormMean[] = "diagnostics/vq/input_norm_mean";
inline constexpr char kVqInputNormMax[] = "diagnostics/vq/input_norm_max";
// The target VQ's, for the same stats.
inline constexpr char kVqTargetUsageRatio[] = "diagnostics/vq_target/usage_ratio";
inline constexpr char kVqTargetActiveCodes[] = "diagnostics/vq_target/active_codes";
inline constexpr char kVqTargetPerplexity[] = "diagnostics/vq_target/perplexity";
inline constexpr char kVqTargetDeadCodes[] = "diagnostics/vq_target/dead_codes";
inline constexpr char kVqTargetUnreachableCodes[] = "diagnostics/vq_target/unreachable_codes";
inline constexpr char kVqTargetWindowCalls[] = "diagnostics/vq_target/window_calls";
// The reference's usage (§6), kept for comparison: distinct codes in valid (mask > 0.5) slots of
// the context and target encodings over the event's micro-batches. With a target encoder the
// target ids come from the target's own codebook, so the union mixes two codebooks' ids.
inline constexpr char kVqValidSlotUsageRatio[] = "diagnostics/vq/valid_slot_usage_ratio";
inline constexpr char kVqValidSlotActiveCodes[] = "diagnostics/vq/valid_slot_active_codes";

// Cumulative counts since the run started, "<vq>/<counter>" (reported at diagnostics events).
inline constexpr char kVqCounterRefreshes[] = "refreshes";
inline constexpr char kVqCounterCodesReinitialized[] = "codes_reinitialized";
inline constexpr char kVqCounterReinitializedInUse[] = "reinitialized_in_use";
inline constexpr char kVqCounterRevivalsSurvived[] = "revivals_survived";
inline constexpr char kVqRefreshes[] = "vq/refreshes";
inline constexpr char kVqCodesReinitialized[] = "vq/codes_reinitialized";
inline constexpr char kVqReinitializedInUse[] = "vq/reinitialized_in_use";  // were used last window
inline constexpr char kVqRevivalsSurvived[] = "vq/revivals_survived";       // won >= 1 assignment
inline constexpr char kVqTargetRefreshes[] = "vq_target/refreshes";
inline constexpr char kVqTargetCodesReinitialized[] = "vq_target/codes_reinitialized";
inline constexpr char kVqTargetReinitializedInUse[] = "vq_target/reinitialized_in_use";
inline constexpr char kVqTargetRevivalsSurvived[] = "vq_target/revivals_survived";

// Per refresh: "<vq>/refresh/<count>" at the optimizer step whose VQ calls (or whose end) ran a
// refresh check that fired; summed when several checks fire within one step.
inline constexpr char kVqRefreshInfix[] = "/refresh/";
inline constexpr char kVqRefreshChecks[] = "checks";  // checks that fired (with or without dead)
inline constexpr char kVqRefreshReinitialized[] = "reinitialized";
inline constexpr char kVqRefreshReinitializedInUse[] = "reinitialized_in_use";  // won >= 1 row
inline constexpr char kVqRefreshPreviousRevived[] = "previous_revived";  // at the previous check
inline constexpr char kVqRefreshPreviousRevivedSurvived[] = "previous_revived_survived";

}  // namespace jepalab::metric_names

#endif  // JEPALAB_COMMON_METRIC_NAMES_H_
