#include "trainer_service/core/diagnostics/vq_window.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>

#include "common/metric_names.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "trainer_service/core/diagnostics/vq_diagnostics.h"
#include "trainer_service/core/model/vq_codebook.h"

namespace jepalab::trainer {
namespace {

namespace names = ::jepalab::metric_names;

torch::Tensor Counts(std::vector<float> v) { return torch::tensor(v, torch::kFloat32); }

// K = 4 codes on the axes, norms 1, 2, 3 and 100.
torch::Tensor AxisCodebook() {
  return torch::tensor({{1.0f, 0.0f}, {0.0f, 2.0f}, {-3.0f, 0.0f}, {0.0f, -100.0f}});
}

TEST(VqWindowTest, SumsTheHistogramsOfSeveralCalls) {
  VqWindow window(4);
  window.AddCall(Counts({3, 1, 0, 0}), 4, /*input_norm_mean=*/1.0, /*input_norm_max=*/2.0);
  window.AddCall(Counts({0, 2, 2, 0}), 4, 3.0, 5.0);
  EXPECT_EQ(window.calls(), 2);
  const VqWindowStats s = window.TakeStats(AxisCodebook());
  EXPECT_EQ(s.calls, 2);
  EXPECT_EQ(s.rows, 8);
  // Each call alone used 2 codes; together 3 (the usage a last-call snapshot misses).
  EXPECT_EQ(s.active_codes, 3);
  EXPECT_DOUBLE_EQ(s.usage_ratio, 0.75);
  EXPECT_EQ(s.dead_codes, 1);
  EXPECT_DOUBLE_EQ(s.input_norm_mean, 2.0);  // row-weighted: (4·1 + 4·3) / 8
  EXPECT_DOUBLE_EQ(s.input_norm_max, 5.0);
}

TEST(VqWindowTest, PerplexityOfAKnownHistogram) {
  VqWindow window(4);
  // Uniform over 2 codes across the window: exp(H) = 2 although each call used one code.
  window.AddCall(Counts({5, 0, 0, 0}), 5, 1.0, 1.0);
  window.AddCall(Counts({0, 5, 0, 0}), 5, 1.0, 1.0);
  EXPECT_NEAR(window.TakeStats(AxisCodebook()).perplexity, 2.0, 1e-6);
  // p = (1/2, 1/4, 1/4, 0): H = 1.5 ln 2, exp(H) = 2^1.5.
  window.AddCall(Counts({2, 1, 1, 0}), 4, 1.0, 1.0);
  EXPECT_NEAR(window.TakeStats(AxisCodebook()).perplexity, std::pow(2.0, 1.5), 1e-6);
}

TEST(VqWindowTest, UnreachableCodesUseTheWindowsLargestInput) {
  VqWindow window(4);
  // r = 2: code 3 (norm 100 > 2·2 + 1) is unreachable, code 2 (3 <= 5) is not.
  window.AddCall(Counts({1, 1, 0, 0}), 2, 1.0, 2.0);
  EXPECT_EQ(window.TakeStats(AxisCodebook()).unreachable_codes, 1);
  // A later call with r = 50 in the same window makes code 3 reachable (100 <= 101).
  window.AddCall(Counts({1, 1, 0, 0}), 2, 1.0, 2.0);
  window.AddCall(Counts({1, 1, 0, 0}), 2, 1.0, 50.0);
  EXPECT_EQ(window.TakeStats(AxisCodebook()).unreachable_codes, 0);
}

TEST(VqWindowTest, TakeStatsResetsTheWindow) {
  VqWindow window(4);
  window.AddCall(Counts({1, 1, 1, 1}), 4, 1.0, 1.0);
  EXPECT_EQ(window.TakeStats(AxisCodebook()).active_codes, 4);
  EXPECT_EQ(window.calls(), 0);
  const VqWindowStats empty = window.TakeStats(AxisCodebook());
  EXPECT_EQ(empty.calls, 0);
  EXPECT_EQ(empty.active_codes, 0);
  EXPECT_EQ(empty.dead_codes, 4);
  EXPECT_EQ(empty.perplexity, 0);
  window.AddCall(Counts({0, 0, 2, 0}), 2, 1.0, 1.0);
  const VqWindowStats next = window.TakeStats(AxisCodebook());
  EXPECT_EQ(next.calls, 1);
  EXPECT_EQ(next.active_codes, 1);
  EXPECT_NEAR(next.perplexity, 1.0, 1e-6);
}

TEST(VqWindowTest, RejectsAHistogramOfTheWrongSize) {
  VqWindow window(4);
  EXPECT_THROW(window.AddCall(Counts({1, 1}), 2, 1.0, 1.0), c10::Error);
}

std::map<std::string, double> AsMap(const MetricValues& values) {
  std::map<std::string, double> m;
  for (const auto& [name, value] : values) m[name] = value;
  return m;
}

// The observer sees every call of a real codebook: the window's usage covers both calls, the
// last call's stats only the second.
TEST(VqDiagnosticsTest, WindowCoversEveryCallSinceTheLastEvent) {
  torch::manual_seed(0);
  VqCodebook vq(VqCodebookOptions(4, 2).ema_decay(std::nullopt));
  vq->SetState(AxisCodebook(), {}, {}, 0);
  VqDiagnostics diagnostics(vq, names::kVqOnline);
  vq->forward(torch::tensor({{1.0f, 0.1f}, {0.9f, 0.0f}}));   // code 0 twice
  vq->forward(torch::tensor({{0.0f, 1.9f}, {-2.5f, 0.0f}}));  // codes 1 and 2
  EXPECT_EQ(vq->last_stats().active_codes, 2);
  MetricValues values;
  diagnostics.AppendEventMetrics(&values);
  auto m = AsMap(values);
  EXPECT_DOUBLE_EQ(m[names::kVqUsageRatio], 0.75);
  EXPECT_DOUBLE_EQ(m[names::kVqActiveCodes], 3);
  EXPECT_DOUBLE_EQ(m[names::kVqDeadCodes], 1);
  EXPECT_DOUBLE_EQ(m[names::kVqWindowCalls], 2);
  EXPECT_NEAR(m[names::kVqPerplexity], std::exp(-(0.5 * std::log(0.5) + 0.5 * std::log(0.25))),
              1e-5);
  EXPECT_EQ(m.count(names::kVqRefreshes), 1u);
  values.clear();
  diagnostics.set_window_open(false);  // validation
  vq->forward(torch::tensor({{0.0f, -90.0f}}));
  diagnostics.AppendEventMetrics(&values);
  EXPECT_DOUBLE_EQ(AsMap(values)[names::kVqWindowCalls], 0);
}

// Per-call timing with refresh every 2 calls: the check of the second call fires, and its
// counts show up once under "<name>/refresh/*".
TEST(VqDiagnosticsTest, RefreshChecksBecomePerRefreshPoints) {
  torch::manual_seed(0);
  VqCodebook vq(ReferenceVqOptions(4, 2).refresh_enabled(true).refresh_interval(2));
  VqDiagnostics diagnostics(vq, names::kVqTarget);
  const torch::Tensor x = torch::randn({16, 2});
  vq->forward(x);
  MetricValues values;
  diagnostics.AppendRefreshMetrics(&values);
  EXPECT_TRUE(values.empty());
  vq->forward(x);
  ASSERT_TRUE(vq->last_stats().refresh.fired);
  const int64_t replaced = static_cast<int64_t>(vq->last_stats().refresh.replacements.size());
  diagnostics.AppendRefreshMetrics(&values);
  auto m = AsMap(values);
  const std::string p = std::string(names::kVqTarget) + names::kVqRefreshInfix;
  EXPECT_DOUBLE_EQ(m[p + names::kVqRefreshChecks], 1);
  EXPECT_DOUBLE_EQ(m[p + names::kVqRefreshReinitialized], static_cast<double>(replaced));
  EXPECT_EQ(m.count(p + names::kVqRefreshPreviousRevivedSurvived), 1u);
  values.clear();
  diagnostics.AppendRefreshMetrics(&values);  // taken: nothing until the next check
  EXPECT_TRUE(values.empty());
}

}  // namespace
}  // namespace jepalab::trainer
