#include "bench/load/synthetic_run.h"

#include <cmath>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/metric_names.h"

namespace jepalab::load {
namespace {

namespace names = ::jepalab::metric_names;

constexpr int64_t kEmbeddingInterval = 2;  // diagnostics.embedding_metrics.interval
constexpr int64_t kStepsPerEpoch = 100;
constexpr int64_t kCollapseStep = 50;

std::vector<std::string> StepNames() {
  return {names::kLossTotal,           names::kLossInfoNce,    names::kLossSigreg,
          names::kLossInvariance,      names::kLossRelational, names::kLossVq,
          names::kTemperature,         names::kLearningRate,   names::kGradNorm,
          names::kStepTimeSeconds,     names::kQueueFill,      names::kVqUsageRatio,
          names::kVqActiveCodes,       names::kVqPerplexity,   names::kVqDeadCodes,
          names::kVqUnreachableCodes,  names::kVqCodeNormMax,  names::kVqCodeNormMedian,
          names::kVqInputNormMean,     names::kVqRefreshes,    names::kVqCodesReinitialized,
          names::kVqReinitializedInUse};
}

std::vector<std::string> EmbeddingNames() {
  std::vector<std::string> out;
  for (const char* encoder : {"context", "target"}) {
    for (const char* stat :
         {names::kStatEffectiveRank, names::kStatIsotropy, names::kStatRankMe,
          names::kStatIsotropyRobust, names::kStatVariance, names::kStatGaussianScore}) {
      out.push_back(absl::StrCat(names::kDiagnosticsPrefix, encoder, "/", stat));
    }
  }
  return out;
}

// The four name sets: [embedding step][epoch step].
const std::vector<std::string>& NameSet(bool embedding, bool epoch_end) {
  static const auto* sets = [] {
    auto* s = new std::vector<std::vector<std::string>>(4);
    for (int e = 0; e < 2; ++e) {
      for (int p = 0; p < 2; ++p) {
        std::vector<std::string>& set = (*s)[e * 2 + p];
        set = StepNames();
        if (e) {
          for (std::string& n : EmbeddingNames()) set.push_back(std::move(n));
        }
        if (p) {
          set.push_back(names::kEpoch);
          set.push_back(names::kTrainLoss);
          set.push_back(names::kValLoss);
        }
      }
    }
    return s;
  }();
  return (*sets)[(embedding ? 2 : 0) + (epoch_end ? 1 : 0)];
}

bool IsEmbeddingStep(int64_t step) { return step % kEmbeddingInterval == 0; }
bool IsEpochEnd(int64_t step) { return step % kStepsPerEpoch == kStepsPerEpoch - 1; }

}  // namespace

SyntheticRun::SyntheticRun(std::string run_id, int index, int collapse_every)
    : run_id_(std::move(run_id)),
      index_(index),
      collapses_(collapse_every > 0 && index % collapse_every == 0) {}

const std::vector<std::string>& SyntheticRun::NamesAt(int64_t step) const {
  return NameSet(IsEmbeddingStep(step), IsEpochEnd(step));
}

bool SyntheticRun::Reports(const std::string& name, int64_t step) const {
  for (const std::string& n : NamesAt(step)) {
    if (n == name) return true;
  }
  return false;
}

double SyntheticRun::Value(const std::string& name, int64_t step) const {
  const bool collapsed = collapses_ && step >= kCollapseStep;
  // A little per-run and per-step variation; exactly reproducible (no randomness).
  const double wiggle = 0.01 * ((step * 7 + index_ * 13) % 11);
  if (name == "diagnostics/context/rankme" && collapsed) return 1.2 + wiggle;
  if (absl::StrContains(name, "rank")) return 12.0 + wiggle;
  if (absl::StrContains(name, "isotropy")) return 0.2 + wiggle;
  if (name == names::kVqUsageRatio) return collapsed ? 0.05 : 0.6 + wiggle;
  if (name == names::kVqRefreshes || name == names::kVqCodesReinitialized ||
      name == names::kVqReinitializedInUse) {
    return static_cast<double>(step / 100);
  }
  if (name == names::kEpoch) return static_cast<double>(EpochAt(step));
  if (name == names::kStepTimeSeconds) return 0.05 + wiggle * 0.1;
  if (name == names::kLearningRate) return 3e-4;
  return 5.0 / (1.0 + 0.001 * static_cast<double>(step)) + wiggle;
}

metrics::v1::ReportMetricsRequest SyntheticRun::Batch(int64_t step) const {
  metrics::v1::ReportMetricsRequest batch;
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (const std::string& name : NamesAt(step)) {
    metrics::v1::MetricPoint* point = batch.add_points();
    point->set_run_id(run_id_);
    point->set_step(step);
    point->set_epoch(EpochAt(step));
    point->set_name(name);
    point->set_value(Value(name, step));
    point->set_unix_ms(now_ms);
  }
  return batch;
}

int64_t SyntheticRun::PointsBefore(int64_t steps) const {
  int64_t points = 0;
  for (int64_t step = 0; step < steps; ++step) points += static_cast<int64_t>(NamesAt(step).size());
  return points;
}

}  // namespace jepalab::load
