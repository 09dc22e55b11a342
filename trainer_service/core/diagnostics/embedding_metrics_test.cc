#include "trainer_service/core/diagnostics/embedding_metrics.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "common/testing/shared_data.h"
#include "gtest/gtest.h"
#include "trainer_service/core/testing/golden_data.h"
#include "trainer_service/core/testing/golden_tensor.h"

namespace jepalab::trainer {
namespace {

using ::jepalab::trainer::testing::GoldenClose;
using ::jepalab::trainer::testing::JsonTensor;
using ::jepalab::trainer::testing::LoadGolden;
using json = nlohmann::json;

constexpr int kGoldenCases = 7;

class DiagnosticsGoldenTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    auto golden = LoadGolden("diagnostics.json");
    if (!golden.ok()) JEPALAB_SKIP_WITHOUT_SHARED(golden.status());
    golden_ = *std::move(golden);
  }
  double Rtol(const std::string& field) const {
    return golden_["compare"][field]["rtol"].get<double>();
  }

  // Compares one stats record with the reference outputs, as diagnostics.json's `compare` says.
  void ExpectStats(const std::string& label, const EmbeddingStats& s, const json& expected,
                   bool reliable_isotropy) {
    EXPECT_TRUE(GoldenClose(label + ".variance", torch::tensor(s.variance),
                            JsonTensor(expected["variance"]), Rtol("variance"),
                            golden_["compare"]["variance"]["atol"].get<double>()));
    EXPECT_TRUE(GoldenClose(label + ".effective_rank", torch::tensor(s.effective_rank),
                            JsonTensor(expected["effective_rank"]), Rtol("effective_rank"), 0.0));
    EXPECT_TRUE(GoldenClose(label + ".gaussian_score", torch::tensor(s.gaussian_score),
                            JsonTensor(expected["gaussian_score"]), Rtol("gaussian_score"), 0.0));
    if (reliable_isotropy) {
      EXPECT_TRUE(GoldenClose(label + ".isotropy", torch::tensor(s.isotropy),
                              JsonTensor(expected["isotropy"]), Rtol("isotropy"), 0.0));
    } else {
      EXPECT_LT(s.isotropy, 1e-4) << label << ": jitter-dominated isotropy";
    }
  }

  json golden_;
};

TEST_P(DiagnosticsGoldenTest, MatchesReferenceStats) {
  ASSERT_LT(GetParam(), static_cast<int>(golden_["cases"].size()));
  const json& c = golden_["cases"][GetParam()];
  const absl::StatusOr<EmbeddingStats> stats = ComputeEmbeddingStats(JsonTensor(c["matrix"]));
  ASSERT_TRUE(stats.ok()) << stats.status();
  ExpectStats(c["name"], *stats, c["outputs"], c["float32_reliable_isotropy"].get<bool>());
  // The spectrum itself, against the float64 eigenvalues (jitter-scale round-off allowed).
  EXPECT_TRUE(
      GoldenClose(c["name"].get<std::string>() + ".eigenvalues", torch::tensor(stats->eigenvalues),
                  JsonTensor(c["intermediates"]["eigenvalues_float64_ascending"]), 1e-4, 2e-6));
}

std::string CaseName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[kGoldenCases] = {"plus_minus_identity_32x16",
                                                   "identity_16x16",
                                                   "rank1_64x16",
                                                   "gaussian_64x16",
                                                   "near_collapsed_unit_64x16",
                                                   "near_collapsed_rank2_unit",
                                                   "relu_unit_rows_64x16"};
  return kNames[info.param];
}

INSTANTIATE_TEST_SUITE_P(AllCases, DiagnosticsGoldenTest, ::testing::Range(0, kGoldenCases),
                         CaseName);

TEST_F(DiagnosticsGoldenTest, TrackerSequenceMatchesReferenceEvents) {
  const json& seq = golden_["tracker_sequence"];
  const json& cfg = seq["config"];
  EmbeddingDiagnosticsTracker tracker(cfg["log_interval"], cfg["max_samples"],
                                      cfg["codebook_size"]);
  int call_no = 0;
  for (const json& call : seq["calls"]) {
    const std::string label = "tracker.call" + std::to_string(++call_no);
    auto event = tracker.Observe(
        JsonTensor(call["context_proj"]), JsonTensor(call["target_proj"]),
        JsonTensor(call["context_vq_indices"], torch::kInt64), JsonTensor(call["context_mask"]),
        JsonTensor(call["target_vq_indices"], torch::kInt64), JsonTensor(call["target_mask"]));
    ASSERT_TRUE(event.ok()) << event.status();
    if (call["consumed_with_flush"].get<bool>()) {
      ASSERT_FALSE(event->has_value());
      event = tracker.Flush();
      ASSERT_TRUE(event.ok()) << event.status();
    }
    const json& expected = call["events_after_this_call"];
    ASSERT_EQ(event->has_value(), !expected.empty()) << label;
    if (expected.empty()) continue;
    const EmbeddingEvent& e = **event;
    const json& x = expected[0];
    EXPECT_EQ(e.step, x["step"].get<int64_t>());
    EXPECT_EQ(e.context_samples, x["context_samples"].get<int64_t>());
    EXPECT_EQ(e.target_samples, x["target_samples"].get<int64_t>());
    EXPECT_EQ(e.vq_active_codes, x["vq_active_codes"].get<int64_t>());
    EXPECT_DOUBLE_EQ(e.vq_usage_ratio, x["vq_usage_ratio"].get<double>());
    // 3-d projections: every isotropy here is well above the jitter.
    ExpectStats(label + ".context", e.context, x["context"], /*reliable_isotropy=*/true);
    ExpectStats(label + ".target", e.target, x["target"], /*reliable_isotropy=*/true);
  }
}

TEST(DiagnosticsGoldenFileTest, HasTheExpectedCases) {
  auto golden = LoadGolden("diagnostics.json");
  if (!golden.ok()) JEPALAB_SKIP_WITHOUT_SHARED(golden.status());
  EXPECT_EQ((*golden)["cases"].size(), static_cast<size_t>(kGoldenCases));
}

class EmbeddingMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
  }
};

TEST_F(EmbeddingMetricsTest, EffectiveRankOfIdentityIsD) {
  // ±e_i rows: centred covariance (2/(2D−1))·I, so every eigenvalue is equal.
  const int64_t d = 32;
  const torch::Tensor x = torch::cat({torch::eye(d), -torch::eye(d)});
  const EmbeddingStats s = *ComputeEmbeddingStats(x);
  EXPECT_NEAR(s.effective_rank, d, 1e-3);
  EXPECT_NEAR(s.isotropy, 1.0, 1e-4);
  EXPECT_NEAR(s.robust_isotropy, 1.0, 1e-4);
  EXPECT_NEAR(s.rankme, d, 1e-2);
}

TEST_F(EmbeddingMetricsTest, RankOneDataHasRankOne) {
  const torch::Tensor u = torch::randn({256, 1});
  const torch::Tensor v = torch::randn({1, 64});
  const EmbeddingStats s = *ComputeEmbeddingStats(u * v);
  EXPECT_NEAR(s.effective_rank, 1.0, 1e-3);
  EXPECT_NEAR(s.rankme, 1.0, 1e-2);
  EXPECT_NEAR(s.robust_isotropy, 1.0 / 64, 1e-3);
  EXPECT_LT(s.isotropy, 1e-4);
}

TEST_F(EmbeddingMetricsTest, IsotropicDataIsIsotropic) {
  const EmbeddingStats s = *ComputeEmbeddingStats(torch::randn({20000, 8}));
  EXPECT_GT(s.isotropy, 0.9);
  EXPECT_GT(s.robust_isotropy, 0.99);
  EXPECT_NEAR(s.effective_rank, 8.0, 0.05);
  EXPECT_NEAR(s.variance, 1.0, 0.03);
  EXPECT_GT(s.gaussian_score, 0.9);
}

TEST_F(EmbeddingMetricsTest, RobustIsotropyIgnoresTheJitter) {
  // Rank-2 data of tiny scale: the reference isotropy is jitter/λmax, the robust one r/d = 2/16.
  const torch::Tensor basis = torch::randn({2, 16});
  const torch::Tensor coeff = torch::cat({torch::randn({4096, 1}), torch::randn({4096, 1})}, 1);
  const torch::Tensor q = std::get<0>(torch::linalg_qr(basis.t())).t();  // orthonormal rows
  const EmbeddingStats s = *ComputeEmbeddingStats(1e-2 * torch::matmul(coeff, q));
  EXPECT_NEAR(s.robust_isotropy, 2.0 / 16, 0.01);
  EXPECT_LT(s.isotropy, 0.02);
}

TEST_F(EmbeddingMetricsTest, RejectsBadShapes) {
  EXPECT_EQ(ComputeEmbeddingStats(torch::zeros({5})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeEmbeddingStats(torch::zeros({1, 4})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeEmbeddingStats(torch::Tensor()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EmbeddingMetricsTest, FullSizeWindowIsCheap) {
  // The trainer runs this every N steps on up to 4096 x 256; report the cost (speed goes in
  // bench/).
  const torch::Tensor x = torch::nn::functional::normalize(
      torch::randn({4096, 256}).relu(), torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto start = std::chrono::steady_clock::now();
  const EmbeddingStats s = *ComputeEmbeddingStats(x);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("ComputeEmbeddingStats 4096x256 (1 thread): %.1f ms\n", ms);
  EXPECT_GT(s.effective_rank, 100);
  EXPECT_EQ(s.eigenvalues.size(), 256u);
}

}  // namespace
}  // namespace jepalab::trainer
