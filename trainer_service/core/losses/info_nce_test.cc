#include "trainer_service/core/losses/info_nce.h"

#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/testing/shared_data.h"
#include "gtest/gtest.h"
#include "trainer_service/core/losses/negative_queue.h"
#include "trainer_service/core/testing/golden_data.h"
#include "trainer_service/core/testing/golden_tensor.h"

namespace jepalab::trainer {
namespace {

class InfoNceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
  }
  static torch::Tensor Unit(int64_t n, int64_t d) {
    return torch::nn::functional::normalize(torch::randn({n, d}),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
};

TEST_F(InfoNceTest, RandomVectorsGiveChanceLevel) {
  const int64_t b = 32, q = 96, p = 1024;
  const torch::Tensor log_tau = torch::zeros({});  // tau = 1
  const InfoNceResult r = InfoNce(Unit(b, p), Unit(b, p), Unit(q, p), log_tau, 0.5, 2.0);
  EXPECT_NEAR(r.loss.item<double>(), std::log(static_cast<double>(b + q)), 0.05);  // ln 128
  EXPECT_DOUBLE_EQ(r.temperature.item<double>(), 1.0);
  // Without a queue the chance level is ln(B).
  const InfoNceResult no_queue =
      InfoNce(Unit(b, p), Unit(b, p), torch::Tensor(), log_tau, 0.5, 2.0);
  EXPECT_NEAR(no_queue.loss.item<double>(), std::log(static_cast<double>(b)), 0.05);
}

TEST_F(InfoNceTest, AlignedPairsScoreBelowChance) {
  const torch::Tensor x = Unit(16, 64);
  const InfoNceResult r = InfoNce(x, x, torch::Tensor(), torch::full({}, std::log(0.1)), 0.05, 0.5);
  EXPECT_LT(r.loss.item<double>(), 0.5 * std::log(16.0));
}

TEST_F(InfoNceTest, TemperatureIsClampedAndGradientStopsOutsideBounds) {
  EXPECT_NEAR(ClampedTemperature(torch::full({}, std::log(0.01)), 0.07, 0.15).item<double>(), 0.07,
              1e-7);
  EXPECT_NEAR(ClampedTemperature(torch::full({}, std::log(1.0)), 0.07, 0.15).item<double>(), 0.15,
              1e-7);
  EXPECT_NEAR(ClampedTemperature(torch::full({}, std::log(0.1)), 0.07, 0.15).item<double>(), 0.1,
              1e-7);

  torch::Tensor inside = torch::full({}, std::log(0.1)).set_requires_grad(true);
  InfoNce(Unit(8, 16), Unit(8, 16), torch::Tensor(), inside, 0.07, 0.15).loss.backward();
  EXPECT_NE(inside.grad().item<double>(), 0.0);
  torch::Tensor outside = torch::full({}, std::log(0.01)).set_requires_grad(true);
  InfoNce(Unit(8, 16), Unit(8, 16), torch::Tensor(), outside, 0.07, 0.15).loss.backward();
  EXPECT_EQ(outside.grad().item<double>(), 0.0);
}

TEST_F(InfoNceTest, QueueIsARingOfNormalisedRows) {
  NegativeQueue queue(/*size=*/4, /*dim=*/2, torch::kCPU);
  EXPECT_EQ(queue.Negatives().size(0), 0);
  queue.Enqueue(torch::tensor({{3.0f, 4.0f}, {0.0f, 2.0f}, {1.0f, 0.0f}}));
  EXPECT_EQ(queue.fill(), 3);
  EXPECT_TRUE(torch::allclose(queue.Negatives()[0], torch::tensor({0.6f, 0.8f})));
  queue.Enqueue(torch::tensor({{2.0f, 0.0f}, {0.0f, 5.0f}}));  // wraps: overwrites row 0
  EXPECT_EQ(queue.fill(), 4);
  EXPECT_TRUE(torch::allclose(queue.Negatives()[0], torch::tensor({0.0f, 1.0f})));
  EXPECT_TRUE(torch::allclose(queue.Negatives()[3], torch::tensor({1.0f, 0.0f})));
  // A batch larger than the queue keeps its last `size` rows.
  queue.Enqueue(torch::eye(6).narrow(1, 0, 2));
  EXPECT_TRUE(torch::allclose(queue.Negatives()[0], torch::tensor({0.0f, 0.0f})));
  NegativeQueue empty(0, 2, torch::kCPU);
  empty.Enqueue(torch::ones({3, 2}));
  EXPECT_EQ(empty.fill(), 0);
}

// ---- golden/losses.json: infonce cases and queue mechanics -------------------------------------

using ::jepalab::trainer::testing::GoldenClose;
using ::jepalab::trainer::testing::JsonTensor;
using ::jepalab::trainer::testing::LoadGolden;
using json = nlohmann::json;

constexpr double kRtol = 1e-5, kAtol = 1e-6;

class InfoNceGoldenTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    auto golden = LoadGolden("losses.json");
    if (!golden.ok()) JEPALAB_SKIP_WITHOUT_SHARED(golden.status());
    golden_ = *std::move(golden);
  }
  json golden_;
};

TEST_P(InfoNceGoldenTest, MatchesReference) {
  const json& c = golden_["infonce"]["cases"][GetParam()];
  const std::string name = "infonce." + c["name"].get<std::string>();
  const json& in = c["inputs"];
  const json& q = c["queue"];
  const torch::Tensor context = JsonTensor(in["context_proj"]).set_requires_grad(true);
  const torch::Tensor target = JsonTensor(in["target_proj"]).set_requires_grad(true);
  NegativeQueue queue(q["size"].get<int64_t>(), context.size(1), torch::kCPU);
  if (q.contains("enqueued_batches")) {
    for (const json& batch : q["enqueued_batches"]) queue.Enqueue(JsonTensor(batch));
    EXPECT_EQ(queue.ptr(), q["ptr"].get<int64_t>());
    EXPECT_TRUE(GoldenClose(name + ".queue.buffer_rows", queue.Negatives(),
                            JsonTensor(q["negatives_used"]), kRtol, kAtol));
  }
  EXPECT_EQ(queue.fill(), q["filled"].get<int64_t>());
  const bool learnable = in["learnable_temperature"].get<bool>();
  // log-temperature: the file gives every digit of the float32 value.
  const torch::Tensor s = torch::full({}, in["log_temperature"].get<double>(), torch::kFloat32)
                              .set_requires_grad(learnable);
  const double lo = in["temperature_bounds"][0], hi = in["temperature_bounds"][1];
  const InfoNceResult r = InfoNce(context, target, queue.Negatives(), s, lo, hi);
  const json& out = c["outputs"];
  EXPECT_TRUE(GoldenClose(name + ".temperature_used", r.temperature,
                          JsonTensor(out["temperature_used"]), kRtol, kAtol));
  EXPECT_TRUE(GoldenClose(name + ".logits_scaled",
                          InfoNceReferenceLogits(context, target, queue.Negatives(), r.temperature),
                          JsonTensor(out["logits_scaled"]), kRtol, kAtol));
  EXPECT_TRUE(GoldenClose(name + ".loss", r.loss, JsonTensor(out["loss"]), kRtol, kAtol));
  r.loss.backward();
  EXPECT_TRUE(GoldenClose(name + ".grad_context_proj", context.grad(),
                          JsonTensor(out["grad_context_proj"]), kRtol, kAtol));
  EXPECT_TRUE(GoldenClose(name + ".grad_target_proj", target.grad(),
                          JsonTensor(out["grad_target_proj"]), kRtol, kAtol));
  if (out["grad_log_temperature"].is_null()) {
    EXPECT_FALSE(s.grad().defined());
  } else {
    EXPECT_TRUE(GoldenClose(name + ".grad_log_temperature", s.grad(),
                            JsonTensor(out["grad_log_temperature"]), kRtol, kAtol));
  }
}

std::string InfoNceCaseName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"empty_queue_tau007_bounds_007_015",
                                       "partial_queue_tau01_bounds_005_02",
                                       "wrapped_queue_size6",
                                       "batch1_with_queue",
                                       "tau_clamped_low",
                                       "fixed_temperature"};
  return kNames[info.param];
}
INSTANTIATE_TEST_SUITE_P(AllCases, InfoNceGoldenTest, ::testing::Range(0, 6), InfoNceCaseName);

TEST_F(InfoNceTest, QueueMechanicsMatchReference) {
  auto golden = LoadGolden("losses.json");
  if (!golden.ok()) JEPALAB_SKIP_WITHOUT_SHARED(golden.status());
  const json& g = (*golden)["infonce"]["queue_mechanics"];
  NegativeQueue queue(g["size"].get<int64_t>(), g["dim"].get<int64_t>(), torch::kCPU);
  int step = 0;
  for (const json& s : g["steps"]) {
    queue.Enqueue(JsonTensor(s["enqueue"]));
    EXPECT_EQ(queue.ptr(), s["ptr_after"].get<int64_t>()) << "step " << step;
    EXPECT_EQ(queue.fill(), s["filled_after"].get<int64_t>()) << "step " << step;
    // Negatives() is rows [0, fill); compare the whole buffer once full, else its filled prefix.
    const torch::Tensor expected = JsonTensor(s["buffer_after"]).narrow(0, 0, queue.fill());
    EXPECT_TRUE(GoldenClose("infonce.queue_mechanics.step" + std::to_string(step++),
                            queue.Negatives(), expected, kRtol, kAtol));
  }
}

TEST_F(InfoNceTest, HandComputedLossAndChanceLevelWithFullQueue) {
  // B = 2, no queue, tau = 0.5: row 0 logits [1, 0]/0.5, row 1 [0.6, 0.8]/0.5 (positive first).
  const torch::Tensor c = torch::tensor({{1.0f, 0.0f}, {0.6f, 0.8f}});
  const torch::Tensor t = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  const InfoNceResult r = InfoNce(c, t, torch::Tensor(), torch::full({}, std::log(0.5)), 0.05, 1.0);
  const double row0 = -2.0 + std::log(std::exp(2.0) + std::exp(0.0));
  const double row1 = -1.6 + std::log(std::exp(1.6) + std::exp(1.2));
  EXPECT_NEAR(r.loss.item<double>(), 0.5 * (row0 + row1), 1e-5);
  // All logits equal (identical vectors): exactly ln(B + q), here with a full queue of 6.
  NegativeQueue queue(6, 2, torch::kCPU);
  queue.Enqueue(torch::ones({6, 2}));
  const torch::Tensor same = torch::full({3, 2}, std::sqrt(0.5));
  const InfoNceResult chance = InfoNce(same, same, queue.Negatives(), torch::zeros({}), 0.05, 2.0);
  EXPECT_NEAR(chance.loss.item<double>(), std::log(3.0 + 6.0), 1e-5);
}

TEST_F(InfoNceTest, GradientFlowsAtTheBoundAndStopsBeyondIt) {
  const torch::Tensor c = Unit(4, 8), t = Unit(4, 8);
  // exp(float32(log 0.07)) == float32(0.07): exactly at the lower bound, inclusive clamp.
  torch::Tensor at_bound = torch::full({}, std::log(0.07), torch::kFloat32).set_requires_grad(true);
  const InfoNceResult r = InfoNce(c, t, torch::Tensor(), at_bound, 0.07, 0.15);
  r.loss.backward();
  EXPECT_NE(at_bound.grad().item<double>(), 0.0);
  torch::Tensor above = torch::full({}, std::log(0.2), torch::kFloat32).set_requires_grad(true);
  InfoNce(c, t, torch::Tensor(), above, 0.07, 0.15).loss.backward();
  EXPECT_EQ(above.grad().item<double>(), 0.0);
}

}  // namespace
}  // namespace jepalab::trainer
