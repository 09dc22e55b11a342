#include "trainer_service/core/model/vq_codebook.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/testing/shared_data.h"
#include "gtest/gtest.h"
#include "trainer_service/core/testing/golden_data.h"
#include "trainer_service/core/testing/golden_tensor.h"

namespace jepalab::trainer {
namespace {

using ::jepalab::trainer::testing::GoldenClose;
using ::jepalab::trainer::testing::JsonInts;
using ::jepalab::trainer::testing::JsonTensor;
using ::jepalab::trainer::testing::LoadGolden;
using json = nlohmann::json;

constexpr int kGoldenCases = 8;

// ---------------------------------------------------------------------------------------------
// golden/vq.json: every case, every call, every recorded field.

class VqGoldenTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
    auto golden = LoadGolden("vq.json");
    if (!golden.ok()) JEPALAB_SKIP_WITHOUT_SHARED(golden.status());
    golden_ = *std::move(golden);
  }

  // Tolerances from the file's `compare` block.
  void Tol(const std::string& field, double* rtol, double* atol) const {
    const json& f = golden_["compare"]["float_fields"][field];
    *rtol = f["rtol"].get<double>();
    *atol = f["atol"].get<double>();
  }
  ::testing::AssertionResult Close(const std::string& label, const std::string& field,
                                   const torch::Tensor& actual, const json& expected) const {
    double rtol, atol;
    Tol(field, &rtol, &atol);
    return GoldenClose(label + "." + field, actual, JsonTensor(expected), rtol, atol);
  }

  json golden_;
};

TEST_P(VqGoldenTest, ReproducesEveryCall) {
  ASSERT_LT(GetParam(), static_cast<int>(golden_["cases"].size()));
  const json& c = golden_["cases"][GetParam()];
  const std::string name = c["name"];
  const json& cfg = c["config"];
  VqCodebookOptions options = ReferenceVqOptions(cfg["num_embeddings"], cfg["embedding_dim"]);
  options.commitment_cost(cfg["commitment_cost"]).epsilon(cfg["epsilon"]).record_trace(true);
  options.ema_decay(cfg["ema_decay"].is_null() ? std::optional<double>()
                                               : cfg["ema_decay"].get<double>());
  options.refresh_enabled(cfg["refresh_enabled"]);
  if (cfg.contains("refresh_interval")) options.refresh_interval(cfg["refresh_interval"]);
  if (cfg.contains("refresh_usage_threshold"))
    options.refresh_usage_threshold(cfg["refresh_usage_threshold"]);
  VqCodebook vq(options);
  vq->train(cfg["training_mode"].get<bool>());
  const json& before = c["state_before"];
  vq->SetState(JsonTensor(before["codebook"]),
               before.contains("ema_cluster_size") ? JsonTensor(before["ema_cluster_size"])
                                                   : torch::Tensor(),
               before.contains("ema_w") ? JsonTensor(before["ema_w"]) : torch::Tensor(),
               before["refresh_step_counter"]);

  int call_no = 0;
  for (const json& call : c["calls"]) {
    const std::string label = name + ".call" + std::to_string(call_no++);
    SCOPED_TRACE(label);
    const VqOutput out = vq->forward(JsonTensor(call["inputs"]));
    const VqTrace& trace = vq->last_trace();
    EXPECT_TRUE(
        Close(label, "distances_pre_update", trace.distances, call["distances_pre_update"]));
    EXPECT_TRUE(torch::equal(out.indices, JsonTensor(call["indices"], torch::kInt64)))
        << out.indices;
    EXPECT_TRUE(torch::equal(vq->last_stats().batch_counts, JsonTensor(call["batch_counts"])));
    EXPECT_TRUE(Close(label, "quantized", out.quantized, call["quantized"]));
    EXPECT_TRUE(Close(label, "codebook_rows_at_indices",
                      vq->codebook().index_select(0, out.indices.reshape(-1)),
                      call["codebook_rows_at_indices"]));
    EXPECT_TRUE(Close(label, "loss", out.loss, call["loss"]));
    EXPECT_TRUE(Close(label, "perplexity", out.perplexity, call["perplexity"]));
    EXPECT_NEAR(vq->last_stats().perplexity, call["perplexity"].get<double>(),
                1e-5 * call["perplexity"].get<double>());
    if (call.contains("after_ema_before_refresh")) {
      const json& mid = call["after_ema_before_refresh"];
      EXPECT_TRUE(
          Close(label + ".after_ema", "codebook", trace.codebook_after_ema, mid["codebook"]));
      EXPECT_TRUE(Close(label + ".after_ema", "ema_cluster_size", trace.ema_cluster_size_after_ema,
                        mid["ema_cluster_size"]));
      EXPECT_TRUE(Close(label + ".after_ema", "ema_w", trace.ema_w_after_ema, mid["ema_w"]));
    }
    const VqRefreshReport& report = vq->last_stats().refresh;
    if (call.contains("refresh")) {
      const json& r = call["refresh"];
      ASSERT_EQ(report.fired, r["check_fired"].get<bool>());
      EXPECT_TRUE(Close(label + ".refresh", "refresh.usage", report.usage, r["usage"]));
      std::vector<bool> mask(options.num_embeddings(), false);
      for (int64_t k : report.dead_codes) mask[k] = true;
      EXPECT_EQ(mask, r["dead_mask"].get<std::vector<bool>>());
      EXPECT_EQ(report.dead_codes, JsonInts(r["dead_codes"]));
      if (r.contains("candidate_order")) {
        EXPECT_TRUE(Close(label + ".refresh", "refresh.reconstruction_error",
                          report.reconstruction_error, r["reconstruction_error"]));
        EXPECT_EQ(report.candidate_order, JsonInts(r["candidate_order"]));
      }
      const json empty = json::array();
      const json& reps = r.contains("replacements") ? r["replacements"] : empty;
      ASSERT_EQ(report.replacements.size(), reps.size());
      for (size_t i = 0; i < reps.size(); ++i) {
        EXPECT_EQ(report.replacements[i].code, reps[i]["code"].get<int64_t>());
        EXPECT_EQ(report.replacements[i].row, reps[i]["row"].get<int64_t>());
        if (reps[i].contains("cluster_size_set_to")) {
          EXPECT_TRUE(Close(label + ".refresh", "refresh.replacements[].cluster_size_set_to",
                            torch::tensor(report.replacements[i].count_set_to),
                            reps[i]["cluster_size_set_to"]));
        }
      }
      EXPECT_EQ(vq->refresh_counter(), r["counter_after_call"].get<int64_t>());
    } else {
      EXPECT_FALSE(report.fired);
    }
    const json& after = call["state_after"];
    EXPECT_TRUE(Close(label + ".state_after", "codebook", vq->codebook(), after["codebook"]));
    if (after.contains("ema_cluster_size")) {
      EXPECT_TRUE(Close(label + ".state_after", "ema_cluster_size", vq->ema_cluster_size(),
                        after["ema_cluster_size"]));
      EXPECT_TRUE(Close(label + ".state_after", "ema_w", vq->ema_w(), after["ema_w"]));
    }
    EXPECT_EQ(vq->refresh_counter(), after["refresh_step_counter"].get<int64_t>());
  }
}

std::string CaseName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[kGoldenCases] = {
      "fresh_init_decay_099_two_calls", "steady_state_decay_095",     "steady_state_eval_mode",
      "refresh_threshold_005",          "refresh_threshold_001",      "refresh_threshold_0002",
      "refresh_threshold_0_no_dead",    "no_ema_refresh_batch_counts"};
  return kNames[info.param];
}

INSTANTIATE_TEST_SUITE_P(AllCases, VqGoldenTest, ::testing::Range(0, kGoldenCases), CaseName);

TEST(VqGoldenFileTest, HasTheExpectedCases) {
  auto golden = LoadGolden("vq.json");
  if (!golden.ok()) JEPALAB_SKIP_WITHOUT_SHARED(golden.status());
  EXPECT_EQ((*golden)["cases"].size(), static_cast<size_t>(kGoldenCases));
}

// ---------------------------------------------------------------------------------------------
// Hand-checked behaviour.

class VqCodebookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
  }
};

TEST_F(VqCodebookTest, EmaUpdateOnATinyExampleMatchesHandComputation) {
  // K = 2, D = 1, γ = 0.5, ε = 0 for round numbers. Codes at 0 and 10; rows 1, 2 -> code 0, 9 ->
  // code 1.
  VqCodebook vq(ReferenceVqOptions(2, 1).ema_decay(0.5).epsilon(0.0));
  vq->SetState(torch::tensor({{0.0f}, {10.0f}}), torch::tensor({2.0f, 2.0f}),
               torch::tensor({{0.0f}, {20.0f}}), 0);
  const VqOutput out = vq->forward(torch::tensor({{1.0f}, {2.0f}, {9.0f}}));
  EXPECT_TRUE(torch::equal(out.indices, torch::tensor({0, 0, 1}, torch::kInt64)));
  // c = 0.5·[2,2] + 0.5·[2,1] = [2, 1.5]; w = 0.5·[0,20] + 0.5·[3,9] = [1.5, 14.5].
  EXPECT_TRUE(torch::allclose(vq->ema_cluster_size(), torch::tensor({2.0f, 1.5f})));
  EXPECT_TRUE(torch::allclose(vq->ema_w(), torch::tensor({{1.5f}, {14.5f}})));
  // ε = 0: ĉ = c, e = w / c = [0.75, 9.6667]; the output uses the updated codebook.
  EXPECT_TRUE(torch::allclose(vq->codebook(), torch::tensor({{0.75f}, {14.5f / 1.5f}})));
  EXPECT_TRUE(torch::allclose(out.quantized, torch::tensor({{0.75f}, {0.75f}, {14.5f / 1.5f}})));
  // Laplace smoothing with ε = 0.1: ĉ = (c + ε)/(Σc + Kε)·Σc.
  VqCodebook smooth(ReferenceVqOptions(2, 1).ema_decay(0.5).epsilon(0.1));
  smooth->SetState(torch::tensor({{0.0f}, {10.0f}}), torch::tensor({2.0f, 2.0f}),
                   torch::tensor({{0.0f}, {20.0f}}), 0);
  smooth->forward(torch::tensor({{1.0f}, {2.0f}, {9.0f}}));
  const double n = 3.5, c0 = (2.0 + 0.1) / (n + 0.2) * n, c1 = (1.5 + 0.1) / (n + 0.2) * n;
  EXPECT_NEAR(smooth->codebook()[0][0].item<double>(), 1.5 / c0, 1e-5);
  EXPECT_NEAR(smooth->codebook()[1][0].item<double>(), 14.5 / c1, 1e-5);
}

TEST_F(VqCodebookTest, EvalModeChangesNothing) {
  VqCodebook vq(ReferenceVqOptions(4, 3).refresh_enabled(true).refresh_interval(1));
  vq->eval();
  const torch::Tensor before = vq->codebook().clone();
  vq->forward(torch::randn({5, 3}));
  EXPECT_TRUE(torch::equal(vq->codebook(), before));
  EXPECT_EQ(vq->refresh_counter(), 0);
}

// Counts chosen so the two rules disagree: shares [0.5, 0.3, 0.15, 0.05], mean 0.25 of Σ = 1.
torch::Tensor kCodes() {
  return torch::tensor({{0.0f, 0.0f}, {1.0f, 0.0f}, {0.0f, 1.0f}, {5.0f, 5.0f}});
}
torch::Tensor kCounts() { return torch::tensor({50.0f, 30.0f, 15.0f, 5.0f}); }

TEST_F(VqCodebookTest, RefreshReplacesExactlyTheCodesTheReferenceRuleSelects) {
  // Reference: dead iff c_k / Σc <= 0.2 -> codes 2 and 3.
  VqCodebook vq(ReferenceVqOptions(4, 2)
                    .ema_decay(0.999999)
                    .refresh_enabled(true)
                    .refresh_interval(2)
                    .refresh_usage_threshold(0.2));
  vq->SetState(kCodes(), kCounts(), kCodes() * kCounts().unsqueeze(1), 0);
  const torch::Tensor x = torch::tensor({{0.1f, 0.0f}, {0.8f, 0.0f}, {-3.0f, -3.0f}});
  vq->forward(x);
  EXPECT_FALSE(vq->last_stats().refresh.fired);  // counter 1, interval 2
  EXPECT_EQ(vq->refresh_counter(), 1);
  vq->forward(x);
  const VqRefreshReport& r = vq->last_stats().refresh;
  ASSERT_TRUE(r.fired);
  EXPECT_EQ(r.dead_codes, (std::vector<int64_t>{2, 3}));
  // Rows by distance to their code, largest first: row 2 (-3,-3) -> code 0 is the farthest.
  ASSERT_EQ(r.replacements.size(), 2u);
  EXPECT_EQ(r.replacements[0].row, 2);
  EXPECT_EQ(r.replacements[1].row, r.candidate_order[1]);
  EXPECT_TRUE(torch::equal(vq->codebook()[2], x[2]));
  EXPECT_EQ(vq->refresh_counter(), 0);  // reset because something was dead
  EXPECT_EQ(vq->refresh_events_total(), 1);
  EXPECT_EQ(vq->codes_reinitialised_total(), 2);
}

TEST_F(VqCodebookTest, RefreshRelativeToMeanSelectsOnlyCodesFarBelowTheUniformShare) {
  // Corrected rule: dead iff c_k <= 0.25 · mean(c) -> only code 3 (c_3 = 0.2 · mean). The
  // reference rule at 0.25 would kill codes 2 and 3 (shares 0.15 and 0.05) and even code 1.
  VqCodebook vq(VqCodebookOptions(4, 2)
                    .ema_decay(0.999999)
                    .refresh_enabled(true)
                    .refresh_interval(1)
                    .refresh_usage_threshold(0.25)
                    .update_timing(VqUpdateTiming::kPerCall));
  vq->SetState(kCodes(), kCounts(), kCodes() * kCounts().unsqueeze(1), 0);
  vq->forward(torch::tensor({{0.1f, 0.0f}, {0.8f, 0.0f}, {-3.0f, -3.0f}}));
  const VqRefreshReport& r = vq->last_stats().refresh;
  ASSERT_TRUE(r.fired);
  EXPECT_EQ(r.dead_codes, (std::vector<int64_t>{3}));
  EXPECT_NEAR(r.usage[3].item<double>(), 0.2, 1e-3);  // reported as c_k / mean(c)
}

TEST_F(VqCodebookTest, ReferenceRevivalShrinksTheCodeAndConsistentRevivalKeepsIt) {
  const torch::Tensor codebook = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}, {50.0f, 50.0f}});
  const torch::Tensor counts = torch::tensor({30.0f, 30.0f, 0.0f});
  const torch::Tensor sums = codebook * counts.unsqueeze(1);
  const torch::Tensor x = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}, {-2.0f, -2.0f}});
  const torch::Tensor far_only = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  for (VqRevival revival : {VqRevival::kReference, VqRevival::kConsistent}) {
    VqCodebook vq(ReferenceVqOptions(3, 2)
                      .ema_decay(0.9)
                      .refresh_enabled(true)
                      .refresh_interval(1)
                      .refresh_usage_threshold(0.01)
                      .revival(revival));
    vq->SetState(codebook, counts, sums, 0);
    vq->forward(x);
    ASSERT_EQ(vq->last_stats().refresh.dead_codes, (std::vector<int64_t>{2}));
    EXPECT_TRUE(torch::allclose(vq->codebook()[2], x[2]));  // revived at the farthest row
    // Next call: nothing reaches code 2; the EMA step recomputes it from (w, c).
    vq->forward(far_only);
    const double norm = vq->codebook()[2].norm().item<double>();
    if (revival == VqRevival::kReference) {
      EXPECT_LT(norm, 0.2 * std::sqrt(8.0));  // ≈ row / mean(c): pulled toward the origin
    } else {
      EXPECT_NEAR(norm, std::sqrt(8.0), 1e-3);  // stays at the row
    }
  }
}

TEST_F(VqCodebookTest, NoDeadCodeKeepsTheCounterRunning) {
  VqCodebook vq(ReferenceVqOptions(2, 1)
                    .ema_decay(0.5)
                    .refresh_enabled(true)
                    .refresh_interval(1)
                    .refresh_usage_threshold(0.0));
  vq->SetState(torch::tensor({{0.0f}, {1.0f}}), torch::tensor({1.0f, 1.0f}),
               torch::tensor({{0.0f}, {1.0f}}), 0);
  vq->forward(torch::tensor({{0.0f}, {1.0f}}));
  vq->forward(torch::tensor({{0.0f}, {1.0f}}));
  EXPECT_TRUE(vq->last_stats().refresh.fired);
  EXPECT_TRUE(vq->last_stats().refresh.dead_codes.empty());
  EXPECT_EQ(vq->refresh_counter(), 2);
}

TEST_F(VqCodebookTest, StraightThroughPassesTheGradientUnchanged) {
  VqCodebook vq(VqCodebookOptions(8, 4));
  const torch::Tensor x = torch::randn({2, 5, 4}).set_requires_grad(true);
  const torch::Tensor w = torch::randn({2, 5, 4});
  const VqOutput out = vq->forward(x);
  (out.quantized * w).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), w));
  EXPECT_FALSE(vq->codebook().grad().defined());  // EMA-trained: no gradient to the codebook
}

TEST_F(VqCodebookTest, LossWeightingSwitchMovesTheBetaBetweenTerms) {
  // Without EMA the codebook is a parameter; d loss / d e_k differs by the weighting.
  const torch::Tensor x = torch::tensor({{1.0f, 0.0f}});
  for (bool swapped : {true, false}) {
    VqCodebook vq(VqCodebookOptions(1, 2)
                      .ema_decay(std::nullopt)
                      .commitment_cost(0.25)
                      .swapped_loss_weighting(swapped));
    vq->SetState(torch::tensor({{0.0f, 0.0f}}), {}, {}, 0);
    const torch::Tensor xi = x.clone().set_requires_grad(true);
    const VqOutput out = vq->forward(xi);
    EXPECT_NEAR(out.loss.item<double>(), 1.25 * 0.5,
                1e-6);  // (1+β)·mean((q−z)²), mean over 2 elements
    out.loss.backward();
    // d mean((e−z)²)/de = (e−z) = -1 for dim 0; the codebook term carries β (swapped) or 1.
    const double codebook_weight = swapped ? 0.25 : 1.0;
    EXPECT_NEAR(vq->codebook().grad()[0][0].item<double>(), -codebook_weight, 1e-6);
    // d/dz: the commitment term carries 1 (swapped) or β: (z − q) = 1 for dim 0.
    EXPECT_NEAR(xi.grad()[0][0].item<double>(), swapped ? 1.0 : 0.25, 1e-6);
  }
}

TEST_F(VqCodebookTest, ReferenceEmaInitBlowsUpUnusedCodesAndZeroInitDoesNot) {
  const torch::Tensor x = 0.5 * torch::randn({3, 4});  // at most 3 of the 8 codes are used
  VqCodebook reference(ReferenceVqOptions(8, 4).ema_decay(0.99));
  reference->forward(x);
  const VqCallStats& s = reference->last_stats();
  EXPECT_GT(s.code_norm_max, 100.0);  // never-used codes ~ w_init / ε
  EXPECT_GT(s.unreachable_codes, 0);
  EXPECT_GT(s.code_norm_max, 50 * s.input_norm_mean);

  torch::manual_seed(0);
  VqCodebook fixed(VqCodebookOptions(8, 4).ema_decay(0.99).update_timing(VqUpdateTiming::kPerCall));
  fixed->forward(x);
  EXPECT_EQ(fixed->last_stats().unreachable_codes, 0);
  EXPECT_LT(fixed->last_stats().code_norm_max, 3 * fixed->last_stats().input_norm_max);
}

TEST_F(VqCodebookTest, UnreachableCodesFollowTheNormBound) {
  VqCodebook vq(VqCodebookOptions(3, 1));
  vq->eval();
  // r = 1: code 2 (norm 10) > 2·1 + 0.5 is unreachable; code 1 (norm 2) is not.
  vq->SetState(torch::tensor({{0.5f}, {-2.0f}, {10.0f}}), {}, {}, 0);
  vq->forward(torch::tensor({{1.0f}, {-1.0f}}));
  EXPECT_EQ(vq->last_stats().unreachable_codes, 1);
  EXPECT_DOUBLE_EQ(vq->last_stats().code_norm_max, 10.0);
  EXPECT_DOUBLE_EQ(vq->last_stats().code_norm_median, 2.0);
}

TEST_F(VqCodebookTest, PerStepTimingAppliesOneUpdateWithTheStepsCounts) {
  const torch::Tensor a = torch::randn({6, 3});
  const torch::Tensor b = torch::randn({4, 3});
  VqCodebook per_step(VqCodebookOptions(4, 3).ema_decay(0.9).ema_init(VqEmaInit::kCodebookCopy));
  const torch::Tensor start = per_step->codebook().clone();
  per_step->forward(a);
  per_step->forward(b);
  EXPECT_TRUE(torch::equal(per_step->codebook(), start));  // nothing moves before the step
  per_step->OptimizerStep();
  // Same as one per-call update on the concatenated rows.
  VqCodebook per_call(VqCodebookOptions(4, 3)
                          .ema_decay(0.9)
                          .ema_init(VqEmaInit::kCodebookCopy)
                          .update_timing(VqUpdateTiming::kPerCall));
  per_call->SetState(start, torch::zeros({4}), start, 0);
  per_call->forward(torch::cat({a, b}));
  EXPECT_TRUE(torch::allclose(per_step->codebook(), per_call->codebook(), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(per_step->ema_cluster_size(), per_call->ema_cluster_size()));
}

TEST_F(VqCodebookTest, PerStepRefreshTicksOncePerStepAndTracksRevivalSurvival) {
  VqCodebook vq(VqCodebookOptions(4, 2)
                    .ema_decay(0.5)
                    .refresh_enabled(true)
                    .refresh_interval(1)
                    .refresh_usage_threshold(0.5));
  vq->SetState(torch::tensor({{0.0f, 0.0f}, {1.0f, 1.0f}, {30.0f, 30.0f}, {-30.0f, 30.0f}}), {}, {},
               0);
  const torch::Tensor x =
      torch::tensor({{0.1f, 0.0f}, {1.0f, 0.9f}, {4.0f, -4.0f}, {-5.0f, -5.0f}});
  vq->forward(x);
  EXPECT_EQ(vq->refresh_counter(), 0);
  vq->OptimizerStep();
  const VqRefreshReport& r = vq->last_stats().refresh;
  ASSERT_TRUE(r.fired);
  EXPECT_EQ(r.dead_codes, (std::vector<int64_t>{2, 3}));  // zero mass
  EXPECT_EQ(r.reinitialised_in_use, 0);
  // The revived codes sit on the two farthest rows, so they win them at the next step.
  vq->forward(x);
  vq->OptimizerStep();
  const VqRefreshReport& next = vq->last_stats().refresh;
  ASSERT_TRUE(next.fired);
  EXPECT_EQ(next.previous_revived, 2);
  EXPECT_EQ(next.previous_revived_survived, 2);
  // Counted in the total also when this check finds no dead code.
  EXPECT_EQ(vq->revivals_survived_total(), 2);
}

TEST_F(VqCodebookTest, GradientTrainedCodebookWithoutEmaMovesOnlyByGradient) {
  VqCodebook vq(VqCodebookOptions(4, 3).ema_decay(std::nullopt));
  EXPECT_TRUE(vq->codebook().requires_grad());
  const torch::Tensor before = vq->codebook().clone();
  const VqOutput out = vq->forward(torch::randn({10, 3}));
  EXPECT_TRUE(torch::equal(vq->codebook(), before));
  out.loss.backward();
  EXPECT_GT(vq->codebook().grad().abs().sum().item<double>(), 0.0);
}

TEST_F(VqCodebookTest, GumbelAnnealsTemperatureFromStepOne) {
  VqCodebook vq(VqCodebookOptions(4, 2)
                    .mode(VqMode::kGumbel)
                    .temperature_init(1.0)
                    .temperature_min(0.2)
                    .temperature_anneal_steps(4)
                    .entropy_weight(0.5));
  const torch::Tensor x = torch::randn({6, 2});
  vq->forward(x);
  EXPECT_EQ(vq->gumbel_step(), 1);
  EXPECT_NEAR(vq->last_stats().temperature, 0.8, 1e-12);  // step 1 already anneals
  for (int i = 0; i < 5; ++i) vq->forward(x);
  EXPECT_NEAR(vq->last_stats().temperature, 0.2, 1e-12);  // held at the minimum
  vq->eval();
  vq->forward(x);
  EXPECT_EQ(vq->gumbel_step(), 6);
}

TEST_F(VqCodebookTest, GumbelHardSampleIsOneHotWithSoftGradient) {
  VqCodebook vq(VqCodebookOptions(3, 2).mode(VqMode::kGumbel).entropy_weight(0.5));
  vq->SetState(torch::tensor({{0.0f, 0.0f}, {1.0f, 0.0f}, {0.0f, 1.0f}}), {}, {}, 0);
  const torch::Tensor x = torch::tensor({{0.9f, 0.1f}, {0.1f, 0.9f}}).set_requires_grad(true);
  // Zero noise: the sample is the argmax of −d, i.e. the nearest code.
  const VqOutput out = vq->forward(x, torch::zeros({2, 3}));
  EXPECT_TRUE(torch::allclose(out.quantized, torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}})));
  EXPECT_TRUE(torch::equal(out.indices, torch::tensor({1, 2}, torch::kInt64)));
  // Two codes used once each: H = ln 2; loss = w·(1 − ln2/ln3).
  EXPECT_NEAR(out.loss.item<double>(), 0.5 * (1 - std::log(2.0) / std::log(3.0)), 1e-6);
  EXPECT_NEAR(out.perplexity.item<double>(), 2.0, 1e-5);
  out.quantized.sum().backward();
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);  // z reaches the output through the logits
  EXPECT_GT(vq->codebook().grad().abs().sum().item<double>(), 0.0);
}

TEST_F(VqCodebookTest, StateDictHoldsEveryBuffer) {
  VqCodebook vq(VqCodebookOptions(4, 3));
  std::vector<std::string> names;
  for (const auto& item : vq->named_buffers()) names.push_back(item.key());
  for (const char* expected :
       {"ema_cluster_size", "ema_w", "refresh_counter", "gumbel_step", "window_counts", "revived",
        "pending_counts", "pending_sums", "candidate_rows", "candidate_errors"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  EXPECT_EQ(vq->named_parameters().size(), 1u);
}

}  // namespace
}  // namespace jepalab::trainer
