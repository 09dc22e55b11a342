// SIGReg, relational and invariance losses: every case of golden/losses.json for them, plus
// hand-checked values. (One binary: each torch test TU costs ~15 s to compile.)
#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/testing/shared_data.h"
#include "gtest/gtest.h"
#include "trainer_service/core/losses/invariance.h"
#include "trainer_service/core/losses/relational_loss.h"
#include "trainer_service/core/losses/sigreg.h"
#include "trainer_service/core/testing/golden_data.h"
#include "trainer_service/core/testing/golden_tensor.h"

namespace jepalab::trainer {
namespace {

using ::jepalab::trainer::testing::GoldenClose;
using ::jepalab::trainer::testing::JsonTensor;
using ::jepalab::trainer::testing::LoadGolden;
using json = nlohmann::json;

constexpr double kRtol = 1e-5, kAtol = 1e-6;              // losses.json default
constexpr double kSigregRtol = 1e-4, kSigregAtol = 1e-6;  // per_slice_statistic, value, grad

class LossesGoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    auto golden = LoadGolden("losses.json");
    if (!golden.ok()) JEPALAB_SKIP_WITHOUT_SHARED(golden.status());
    golden_ = *std::move(golden);
  }
  json golden_;
};

// ---- SIGReg ---------------------------------------------------------------------------------

class SigregGoldenTest : public LossesGoldenTest, public ::testing::WithParamInterface<int> {};

TEST_P(SigregGoldenTest, ReproducesEveryCallWithRecordedDirections) {
  const json& c = golden_["sigreg"]["cases"][GetParam()];
  const std::string name = c["name"];
  const int64_t points = c["config"]["num_points"];
  for (const json& call : c["calls"]) {
    const std::string label =
        name + ".seed" + std::to_string(call["global_step_used_as_seed"].get<int>());
    const torch::Tensor emb = JsonTensor(c["embeddings"]).set_requires_grad(true);
    const SigregResult r = Sigreg(emb, JsonTensor(call["raw_directions"]), points);
    EXPECT_TRUE(GoldenClose(label + ".per_slice_statistic", r.per_slice,
                            JsonTensor(call["per_slice_statistic"]), kSigregRtol, kSigregAtol));
    EXPECT_TRUE(GoldenClose(label + ".value", r.value, JsonTensor(call["value"]), kSigregRtol,
                            kSigregAtol));
    const torch::Tensor normalised = torch::nn::functional::normalize(
        emb.detach(), torch::nn::functional::NormalizeFuncOptions().dim(1));
    EXPECT_TRUE(GoldenClose(label + ".normalised_embeddings", normalised,
                            JsonTensor(call["normalised_embeddings"]), kRtol, kAtol));
    const torch::Tensor a = JsonTensor(call["raw_directions"]);
    EXPECT_TRUE(GoldenClose(label + ".directions_normalised", a / a.norm(2, 0, true),
                            JsonTensor(call["directions_normalised"]), kRtol, kAtol));
    EXPECT_TRUE(GoldenClose(label + ".projections",
                            torch::matmul(normalised, a / a.norm(2, 0, true)),
                            JsonTensor(call["projections"]), kRtol, kAtol));
    if (call.contains("grad_embeddings")) {
      r.value.backward();
      EXPECT_TRUE(GoldenClose(label + ".grad_embeddings", emb.grad(),
                              JsonTensor(call["grad_embeddings"]), kSigregRtol, kSigregAtol));
    }
    // The seeded CPU draw is the recorded one (rounded to 7 digits in the file).
    const torch::Tensor drawn =
        DrawSigregDirections(a.size(0), a.size(1), call["global_step_used_as_seed"].get<int>());
    EXPECT_TRUE(GoldenClose(label + ".raw_directions_from_seed", drawn, a, 1e-6, 1e-6));
  }
}

std::string SigregCaseName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"gaussian_16x8_two_calls", "relu_nonneg_32x16_with_grad",
                                       "collapsed_identical_rows_8x4"};
  return kNames[info.param];
}
INSTANTIATE_TEST_SUITE_P(AllCases, SigregGoldenTest, ::testing::Range(0, 3), SigregCaseName);

class EppsPulleyGoldenTest : public LossesGoldenTest, public ::testing::WithParamInterface<int> {};

TEST_P(EppsPulleyGoldenTest, UnivariateStatistic) {
  const json& c = golden_["sigreg"]["univariate_epps_pulley"]["cases"][GetParam()];
  EXPECT_TRUE(GoldenClose("epps_pulley." + c["name"].get<std::string>(),
                          EppsPulleyStatistic(JsonTensor(c["samples"]), 17),
                          JsonTensor(c["statistic_per_column"]), kSigregRtol, kSigregAtol));
}

std::string EppsCaseName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"zeros_8x1", "ones_8x1", "explicit_16x3",
                                       "normal_quantiles_64x1"};
  return kNames[info.param];
}
INSTANTIATE_TEST_SUITE_P(AllCases, EppsPulleyGoldenTest, ::testing::Range(0, 4), EppsCaseName);

TEST_F(LossesGoldenTest, SigregFileLayout) {
  EXPECT_EQ(golden_["sigreg"]["cases"].size(), 3u);
  EXPECT_EQ(golden_["sigreg"]["univariate_epps_pulley"]["cases"].size(), 4u);
  EXPECT_EQ(golden_["relational"]["cases"].size(), 4u);
  // t grid and weights of the statistic.
  const torch::Tensor t = torch::linspace(-3, 3, 17);
  EXPECT_TRUE(
      GoldenClose("sigreg.t_points", t, JsonTensor(golden_["sigreg"]["t_points"]), kRtol, kAtol));
  EXPECT_TRUE(GoldenClose("sigreg.weights", (-0.5 * t * t).exp(),
                          JsonTensor(golden_["sigreg"]["weights_exp_minus_t2_over_2"]), kRtol,
                          kAtol));
}

TEST_F(LossesGoldenTest, L2PredictiveLoss) {
  const json& g = golden_["l2_predictive"];
  EXPECT_TRUE(
      GoldenClose("l2_predictive.loss",
                  L2PredictiveLoss(JsonTensor(g["context_proj"]), JsonTensor(g["target_proj"])),
                  JsonTensor(g["loss"]), kRtol, kAtol));
}

class SigregTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
  }
};

TEST_F(SigregTest, AllZeroProjectionsGiveTheCollapseConstant) {
  EXPECT_NEAR(EppsPulleyStatistic(torch::zeros({64, 1}), 17).item<double>(), 0.4015, 1e-4);
}

TEST_F(SigregTest, SmallForGaussianSamplesLargerForCollapsedOnes) {
  const double gaussian = EppsPulleyStatistic(torch::randn({512, 64}), 17).mean().item<double>();
  const double collapsed =
      EppsPulleyStatistic(torch::full({512, 64}, 0.3), 17).mean().item<double>();
  EXPECT_LT(gaussian, 0.005);  // finite-B bias only (≈0.0021 at B = 512)
  EXPECT_GT(gaussian, 0.0);
  EXPECT_GT(collapsed, 0.3);
}

TEST_F(SigregTest, ReferenceValuesIn256Dimensions) {
  const int64_t d = 256, b = 4096, s = 1024;
  const torch::Tensor directions = DrawSigregDirections(d, s, /*seed=*/7);
  // Isotropic unit sphere: ≈ 0.3955 (+ a finite-B bias of ≈ 0.0003 at B = 4096).
  const double sphere = Sigreg(torch::randn({b, d}), directions, 17).value.item<double>();
  EXPECT_NEAR(sphere, 0.3955, 0.0015);
  // Every vector the same unit vector: ≈ 0.405.
  const double collapsed = Sigreg(torch::randn({1, d}).expand({64, d}).contiguous(), directions, 17)
                               .value.item<double>();
  EXPECT_NEAR(collapsed, 0.405, 0.002);
  EXPECT_GT(collapsed, sphere);  // collapse scores higher, by only ≈ 0.01
}

TEST_F(SigregTest, ModuleSeedsDirectionsWithItsCallCounter) {
  SigregLoss loss(/*num_slices=*/8, /*num_points=*/17);
  const torch::Tensor x = torch::randn({16, 4}).set_requires_grad(true);
  const SigregResult first = loss(x);
  EXPECT_EQ(loss.step(), 1);
  EXPECT_TRUE(torch::allclose(first.value, Sigreg(x, DrawSigregDirections(4, 8, 0), 17).value));
  const SigregResult second = loss(x);
  EXPECT_FALSE(torch::allclose(first.per_slice, second.per_slice));
  second.value.backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_GE(second.value.item<double>(), 0.0);
}

// ---- Relational ------------------------------------------------------------------------------

class RelationalGoldenTest : public LossesGoldenTest, public ::testing::WithParamInterface<int> {};

TEST_P(RelationalGoldenTest, MatchesReference) {
  const json& c = golden_["relational"]["cases"][GetParam()];
  const std::string name = "relational." + c["name"].get<std::string>();
  const json& in = c["inputs"];
  const json& cfg = c["config"];
  const RelationalLossResult r =
      RelationalLoss(JsonTensor(in["context_embeddings"]), JsonTensor(in["context_mask"]),
                     JsonTensor(in["context_adjacency"]), JsonTensor(in["target_embeddings"]),
                     JsonTensor(in["target_mask"]), JsonTensor(in["target_adjacency"]),
                     cfg["context_length"], cfg["weight"], cfg["context_self_weight"]);
  const json& mid = c["intermediates"];
  EXPECT_TRUE(GoldenClose(name + ".context_relations", r.context_relations,
                          JsonTensor(mid["context_relations"]), kRtol, kAtol));
  EXPECT_TRUE(GoldenClose(name + ".context_relations_mean_over_T", r.context_mean,
                          JsonTensor(mid["context_relations_mean_over_T"]), kRtol, kAtol));
  EXPECT_TRUE(GoldenClose(name + ".target_relations", r.target_relations,
                          JsonTensor(mid["target_relations"]), kRtol, kAtol));
  EXPECT_TRUE(GoldenClose(name + ".mse_term", r.mse_term, JsonTensor(mid["mse_term_unweighted"]),
                          kRtol, kAtol));
  if (mid["context_self_term_unweighted"].is_null()) {
    EXPECT_FALSE(r.context_self_term.defined());
  } else {
    EXPECT_TRUE(GoldenClose(name + ".context_self_term", r.context_self_term,
                            JsonTensor(mid["context_self_term_unweighted"]), kRtol, kAtol));
  }
  EXPECT_TRUE(GoldenClose(name + ".loss", r.loss, JsonTensor(c["loss"]), kRtol, kAtol));
}

std::string RelationalCaseName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"general_a6000_weights", "general_gentle_weights",
                                       "context_equals_target", "single_frame_T1"};
  return kNames[info.param];
}
INSTANTIATE_TEST_SUITE_P(AllCases, RelationalGoldenTest, ::testing::Range(0, 4),
                         RelationalCaseName);

TEST(RelationalLossTest, ZeroWhenContextEqualsTargetAndPositiveOtherwise) {
  torch::manual_seed(0);
  const torch::Tensor emb = torch::randn({2, 4, 3});
  const torch::Tensor mask = torch::ones({2, 4});
  const torch::Tensor adj = torch::ones({2, 4, 4}) - torch::eye(4);
  const torch::Tensor ctx = emb.repeat_interleave(3, 0);  // T = 3 copies
  const RelationalLossResult same = RelationalLoss(
      ctx, mask.repeat_interleave(3, 0), adj.repeat_interleave(3, 0), emb, mask, adj, 3, 1.0, 1.0);
  EXPECT_NEAR(same.loss.item<double>(), 0.0, 1e-10);
  const RelationalLossResult differ =
      RelationalLoss(ctx + 0.1 * torch::randn_like(ctx), mask.repeat_interleave(3, 0),
                     adj.repeat_interleave(3, 0), emb, mask, adj, 3, 1.0, 1.0);
  EXPECT_GT(differ.mse_term.item<double>(), 0.0);
  EXPECT_GT(differ.context_self_term.item<double>(), 0.0);
}

// ---- Invariance ------------------------------------------------------------------------------

class InvarianceGoldenTest : public LossesGoldenTest {
 protected:
  const json& Batch() const { return golden_["invariance"]["token_batch"]; }
  torch::Tensor Ctx() const { return JsonTensor(Batch()["context_features"]); }
  torch::Tensor CtxMask() const { return JsonTensor(Batch()["context_mask"]); }
  torch::Tensor Tgt() const { return JsonTensor(Batch()["target_features"]); }
  torch::Tensor TgtMask() const { return JsonTensor(Batch()["target_mask"]); }
  const json& Transform(const std::string& fn) const {
    for (const json& t : golden_["invariance"]["transforms"]) {
      if (t["function"] == fn) return t;
    }
    ADD_FAILURE() << "no transform " << fn;
    return golden_;
  }
  void ExpectOutputs(const std::string& label, const json& t, const torch::Tensor& ctx,
                     const torch::Tensor& tgt) {
    EXPECT_TRUE(GoldenClose(label + ".context_features_out", ctx,
                            JsonTensor(t["context_features_out"]), kRtol, kAtol));
    EXPECT_TRUE(GoldenClose(label + ".target_features_out", tgt,
                            JsonTensor(t["target_features_out"]), kRtol, kAtol));
  }
  std::vector<std::string> Modes() const {
    return golden_["invariance"]["config"]["symmetry_modes"].get<std::vector<std::string>>();
  }
};

TEST_F(InvarianceGoldenTest, ColourPermutation) {
  const json& t = Transform("color_permuted_batch");
  const json& d = t["draws_in_call_order"];
  const torch::Tensor ctx =
      ColorPermuted(Ctx(), CtxMask(), JsonTensor(d[0]["value"], torch::kInt64),
                    JsonTensor(d[1]["value"], torch::kInt64));
  const torch::Tensor tgt =
      ColorPermuted(Tgt(), TgtMask(), JsonTensor(d[2]["value"], torch::kInt64),
                    JsonTensor(d[3]["value"], torch::kInt64));
  ExpectOutputs("invariance.color", t, ctx, tgt);
}

TEST_F(InvarianceGoldenTest, Translation) {
  const json& t = Transform("translated_batch");
  const json& d = t["draws_in_call_order"];
  const json& cfg = golden_["invariance"]["config"];
  const double delta = cfg["translation_max_delta"], lo = cfg["coordinate_min"],
               hi = cfg["coordinate_max"];
  const torch::Tensor ctx = Translated(Ctx(), CtxMask(), JsonTensor(d[0]["value"]),
                                       JsonTensor(d[1]["value"]), delta, lo, hi);
  const torch::Tensor tgt = Translated(Tgt(), TgtMask(), JsonTensor(d[2]["value"]),
                                       JsonTensor(d[3]["value"]), delta, lo, hi);
  ExpectOutputs("invariance.translation", t, ctx, tgt);
}

TEST_F(InvarianceGoldenTest, SymmetryFlip) {
  const json& t = Transform("symmetry_flipped_batch");
  const json& d = t["draws_in_call_order"];
  const std::vector<std::string> modes = Modes();
  ExpectOutputs("invariance.symmetry", t,
                SymmetryFlipped(Ctx(), CtxMask(), modes[d[0]["value"][0].get<int>()]),
                SymmetryFlipped(Tgt(), TgtMask(), modes[d[1]["value"][0].get<int>()]));
}

TEST_F(InvarianceGoldenTest, SymmetryForcedModes) {
  const std::vector<std::string> modes = Modes();
  int i = 0;
  for (const json& t : golden_["invariance"]["symmetry_forced_modes"]) {
    const json& m = t["forced_mode_indices_context_then_target"];
    ExpectOutputs("invariance.symmetry_forced" + std::to_string(i++), t,
                  SymmetryFlipped(Ctx(), CtxMask(), modes[m[0].get<int>()]),
                  SymmetryFlipped(Tgt(), TgtMask(), modes[m[1].get<int>()]));
  }
  EXPECT_EQ(i, 2);
}

TEST_F(InvarianceGoldenTest, LossCombination) {
  const json& g = golden_["invariance"]["loss_combination"];
  std::vector<InvarianceTerm> terms;
  for (const json& a : g["augmented"]) {
    terms.push_back({g["weights"][a["term"].get<std::string>()].get<double>(),
                     JsonTensor(a["context_repr"]), JsonTensor(a["target_repr"])});
  }
  EXPECT_TRUE(GoldenClose(
      "invariance.loss_combination",
      InvarianceLoss(JsonTensor(g["context_repr_ref"]), JsonTensor(g["target_repr_ref"]), terms),
      JsonTensor(g["loss"]), kRtol, kAtol));
}

TEST(InvarianceTest, HorizontalFlipOfTheReferenceExample) {
  // §10: horizontal flip of (cx .2, min .1, max .4) -> (.8, .6, .9); padding untouched.
  torch::Tensor f = torch::zeros({2, 23});
  f[0][TokenFeatureColumns::kCentroidX] = 0.2;
  f[0][TokenFeatureColumns::kBboxMinX] = 0.1;
  f[0][TokenFeatureColumns::kBboxMaxX] = 0.4;
  const torch::Tensor out = SymmetryFlipped(f, torch::tensor({1.0f, 0.0f}), "horizontal");
  EXPECT_NEAR(out[0][TokenFeatureColumns::kCentroidX].item<double>(), 0.8, 1e-6);
  EXPECT_NEAR(out[0][TokenFeatureColumns::kBboxMinX].item<double>(), 0.6, 1e-6);
  EXPECT_NEAR(out[0][TokenFeatureColumns::kBboxMaxX].item<double>(), 0.9, 1e-6);
  EXPECT_TRUE(torch::equal(out[1], f[1]));
  // Any other mode name reflects y (the reference's "h"/"v" both flip y).
  const torch::Tensor v = SymmetryFlipped(f, torch::tensor({1.0f, 0.0f}), "h");
  EXPECT_NEAR(v[0][TokenFeatureColumns::kCentroidY].item<double>(), 1.0, 1e-6);
}

TEST(InvarianceTest, DrawsAreSeededAndTranslationsStayInRange) {
  at::Generator gen = at::detail::createCPUGenerator(3);
  const torch::Tensor f = torch::rand({4, 2, 5, 23});
  const torch::Tensor mask = torch::ones({4, 2, 5});
  const TranslationDraws d = DrawTranslation(f, gen);
  EXPECT_EQ(d.uniform_dy.sizes(), mask.sizes());
  const torch::Tensor out = Translated(f, mask, d.uniform_dy, d.uniform_dx, 1.0, 0.0, 1.0);
  EXPECT_GE(out.narrow(-1, 7, 6).min().item<double>(), 0.0);
  EXPECT_LE(out.narrow(-1, 7, 6).max().item<double>(), 1.0);
  const ColorDraws c = DrawColor(10, 10, gen);
  EXPECT_TRUE(torch::equal(std::get<0>(c.color_perm.sort()), torch::arange(10)));
  const int64_t mode = DrawSymmetryMode(2, gen);
  EXPECT_TRUE(mode == 0 || mode == 1);
  // Colour permutation leaves everything but colour and histogram alone.
  const torch::Tensor p = ColorPermuted(f, mask, c.color_perm, c.slot_perm);
  EXPECT_TRUE(torch::equal(p.narrow(-1, 0, 6), f.narrow(-1, 0, 6)));
  EXPECT_TRUE(torch::equal(p.narrow(-1, 7, 6), f.narrow(-1, 7, 6)));
}

}  // namespace
}  // namespace jepalab::trainer
