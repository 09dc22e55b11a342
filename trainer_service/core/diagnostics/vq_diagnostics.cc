#include "trainer_service/core/diagnostics/vq_diagnostics.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/metric_names.h"

namespace jepalab::trainer {
namespace {
namespace names = ::jepalab::metric_names;
}  // namespace

VqDiagnostics::VqDiagnostics(VqCodebook vq, std::string name)
    : vq_(std::move(vq)), name_(std::move(name)), window_(vq_->options().num_embeddings()) {
  vq_->set_observer(this);
}

VqDiagnostics::~VqDiagnostics() { vq_->set_observer(nullptr); }

void VqDiagnostics::OnCall(const VqCallStats& stats) {
  if (!window_open_ || !stats.batch_counts.defined()) return;
  window_.AddCall(stats.batch_counts, stats.rows, stats.input_norm_mean, stats.input_norm_max);
}

void VqDiagnostics::OnRefreshCheck(const VqRefreshReport& report) {
  ++checks_;
  reinitialized_ += static_cast<int64_t>(report.replacements.size());
  reinitialized_in_use_ += report.reinitialised_in_use;
  previous_revived_ += report.previous_revived;
  previous_revived_survived_ += report.previous_revived_survived;
}

void VqDiagnostics::AppendEventMetrics(MetricValues* out) {
  const std::string p = absl::StrCat(names::kDiagnosticsPrefix, name_, "/");
  const VqWindowStats w = window_.TakeStats(vq_->codebook());
  const VqCallStats& last = vq_->last_stats();
  out->push_back({p + names::kVqStatUsageRatio, w.usage_ratio});
  out->push_back({p + names::kVqStatActiveCodes, static_cast<double>(w.active_codes)});
  out->push_back({p + names::kVqStatPerplexity, w.perplexity});
  out->push_back({p + names::kVqStatDeadCodes, static_cast<double>(w.dead_codes)});
  out->push_back({p + names::kVqStatUnreachableCodes, static_cast<double>(w.unreachable_codes)});
  out->push_back({p + names::kVqStatWindowCalls, static_cast<double>(w.calls)});
  out->push_back({p + names::kVqStatInputNormMean, w.input_norm_mean});
  out->push_back({p + names::kVqStatInputNormMax, w.input_norm_max});
  out->push_back({p + names::kVqStatRefreshRuleDeadCodes, static_cast<double>(last.dead_codes)});
  out->push_back({p + names::kVqStatCodeNormMax, last.code_norm_max});
  out->push_back({p + names::kVqStatCodeNormMedian, last.code_norm_median});
  const std::string c = name_ + "/";
  out->push_back(
      {c + names::kVqCounterRefreshes, static_cast<double>(vq_->refresh_events_total())});
  out->push_back({c + names::kVqCounterCodesReinitialized,
                  static_cast<double>(vq_->codes_reinitialised_total())});
  out->push_back({c + names::kVqCounterReinitializedInUse,
                  static_cast<double>(vq_->reinitialised_in_use_total())});
  out->push_back(
      {c + names::kVqCounterRevivalsSurvived, static_cast<double>(vq_->revivals_survived_total())});
}

void VqDiagnostics::AppendRefreshMetrics(MetricValues* out) {
  if (checks_ == 0) return;
  const std::string p = name_ + names::kVqRefreshInfix;
  out->push_back({p + names::kVqRefreshChecks, static_cast<double>(checks_)});
  out->push_back({p + names::kVqRefreshReinitialized, static_cast<double>(reinitialized_)});
  out->push_back(
      {p + names::kVqRefreshReinitializedInUse, static_cast<double>(reinitialized_in_use_)});
  out->push_back({p + names::kVqRefreshPreviousRevived, static_cast<double>(previous_revived_)});
  out->push_back({p + names::kVqRefreshPreviousRevivedSurvived,
                  static_cast<double>(previous_revived_survived_)});
  checks_ = reinitialized_ = reinitialized_in_use_ = previous_revived_ =
      previous_revived_survived_ = 0;
}

}  // namespace jepalab::trainer
