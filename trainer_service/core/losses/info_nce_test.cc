#include <cmath>

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "trainer_service/core/losses/info_nce.h"
#include "trainer_service/core/losses/negative_queue.h"

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
  const InfoNceResult no_queue = InfoNce(Unit(b, p), Unit(b, p), torch::Tensor(), log_tau, 0.5, 2.0);
  EXPECT_NEAR(no_queue.loss.item<double>(), std::log(static_cast<double>(b)), 0.05);
}

TEST_F(InfoNceTest, AlignedPairsScoreBelowChance) {
  const torch::Tensor x = Unit(16, 64);
  const InfoNceResult r = InfoNce(x, x, torch::Tensor(), torch::full({}, std::log(0.1)), 0.05, 0.5);
  EXPECT_LT(r.loss.item<double>(), 0.5 * std::log(16.0));
}

TEST_F(InfoNceTest, TemperatureIsClampedAndGradientStopsOutsideBounds) {
  EXPECT_NEAR(ClampedTemperature(torch::full({}, std::log(0.01)), 0.07, 0.15).item<double>(), 0.07, 1e-7);
  EXPECT_NEAR(ClampedTemperature(torch::full({}, std::log(1.0)), 0.07, 0.15).item<double>(), 0.15, 1e-7);
  EXPECT_NEAR(ClampedTemperature(torch::full({}, std::log(0.1)), 0.07, 0.15).item<double>(), 0.1, 1e-7);

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

}  // namespace
}  // namespace jepalab::trainer
