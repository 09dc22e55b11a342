// Tests of the object encoder, its relational layers and the context aggregation (one binary:
// every torch test binary costs a LibTorch compile).
#include "trainer_service/core/model/object_encoder.h"

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "trainer_service/core/model/context_aggregation.h"
#include "trainer_service/core/model/fast_dropout.h"
#include "trainer_service/core/model/fused_attention.h"
#include "trainer_service/core/model/jepa_model.h"
#include "trainer_service/core/model/relational_layer.h"
#include "trainer_service/core/model/small_bmm.h"

namespace jepalab::trainer {
namespace {

// Two grids of 4 slots: grid 0 has objects 0,1 touching and 2 apart; grid 1 has one object.
struct Batch {
  torch::Tensor features = torch::randn({2, 4, 23});
  torch::Tensor mask = torch::tensor({1, 1, 1, 0, 1, 0, 0, 0}, torch::kFloat).view({2, 4});
  torch::Tensor adjacency = torch::zeros({2, 4, 4});
  Batch() {
    adjacency[0][0][1] = 1;
    adjacency[0][1][0] = 1;
  }
};

TEST(RelationalLayerTest, PaddingStaysZeroAndOnlyTouchingObjectsInteract) {
  torch::manual_seed(0);
  RelationalLayer layer(RelationalLayerOptions{16, 4, 0.0});
  layer->eval();
  Batch b;
  torch::Tensor x = torch::randn({2, 4, 16});
  torch::Tensor y = layer->forward(x, b.mask, b.adjacency);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y[0][3].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(y[1].slice(0, 1).abs().sum().item<float>(), 0.0f);
  // Object 2 of grid 0 touches nobody: changing object 0 must not change it, but changes 1.
  torch::Tensor x2 = x.clone();
  x2[0][0] += torch::randn({16});  // not a constant shift: LayerNorm would remove that
  torch::Tensor y2 = layer->forward(x2, b.mask, b.adjacency);
  EXPECT_TRUE(torch::allclose(y[0][2], y2[0][2]));
  EXPECT_FALSE(torch::allclose(y[0][1], y2[0][1]));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(ObjectEncoderTest, ShapesAndPaddingBehaviour) {
  torch::manual_seed(0);
  Batch b;
  ObjectEncoder with_relational(ObjectEncoderOptions{23, 32, "gelu", true, 2, 4, 0.1});
  torch::Tensor h = with_relational->forward(b.features, b.mask, b.adjacency);
  EXPECT_EQ(h.sizes(), (std::vector<int64_t>{2, 4, 32}));
  EXPECT_EQ(h[0][3].abs().sum().item<float>(), 0.0f);  // relational stack zeroes padding
  ObjectEncoder mlp_only(ObjectEncoderOptions{23, 32, "relu", false, 0, 4, 0.1});
  torch::Tensor g = mlp_only->forward(b.features, b.mask, b.adjacency);
  EXPECT_GT(g[0][3].abs().sum().item<float>(), 0.0f);  // MLP(features) without the mask (§3.3)
  // Gradients reach the input layer.
  h.sum().backward();
  for (const auto& p : with_relational->parameters()) EXPECT_TRUE(p.grad().defined());
}

TEST(FastDropoutTest, MaskHasTheRightRateScaleAndIsReproducible) {
  const torch::Tensor mask = DropoutMask({1000, 1000}, 0.1, 42);
  const double kept = (mask > 0).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(kept, 0.9, 0.002);  // 1e6 draws: the standard error is 3e-4
  EXPECT_TRUE(((mask == 0) | (mask == static_cast<float>(1 / 0.9))).all().item<bool>());
  EXPECT_TRUE(torch::equal(mask, DropoutMask({1000, 1000}, 0.1, 42)));
  EXPECT_FALSE(torch::equal(mask, DropoutMask({1000, 1000}, 0.1, 43)));
  // Neighbouring elements are not correlated: P(both kept) = 0.81.
  const torch::Tensor k = (mask.reshape(-1) > 0).to(torch::kFloat64);
  EXPECT_NEAR((k.narrow(0, 0, 999999) * k.narrow(0, 1, 999999)).mean().item<double>(), 0.81, 0.003);
  // The mask does not depend on the thread count.
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const torch::Tensor single = DropoutMask({1000, 1000}, 0.1, 42);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(mask, single));
}

TEST(FastDropoutTest, IdentityInEvalAndMaskedGradientInTraining) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({64, 64}, torch::requires_grad());
  EXPECT_TRUE(torch::equal(FastDropout(x, 0.1, /*training=*/false), x));
  EXPECT_TRUE(torch::equal(FastDropout(x, 0.0, /*training=*/true), x));
  const torch::Tensor y = FastDropout(x, 0.5, /*training=*/true);
  y.sum().backward();
  const torch::Tensor kept = y != 0;
  EXPECT_TRUE(torch::allclose(y.masked_select(kept), 2 * x.detach().masked_select(kept)));
  EXPECT_TRUE(torch::allclose(x.grad(), kept.to(torch::kFloat32) * 2));
  // Seeded from the default generator: the same seed gives the same mask, the next call another.
  torch::manual_seed(7);
  const torch::Tensor a = FastDropout(x.detach(), 0.5, true);
  const torch::Tensor b = FastDropout(x.detach(), 0.5, true);
  torch::manual_seed(7);
  EXPECT_TRUE(torch::equal(a, FastDropout(x.detach(), 0.5, true)));
  EXPECT_FALSE(torch::equal(a, b));
}

// Encoding each distinct row once with copies = 3 equals encoding the repeated rows, in training
// mode too (same dropout draws), with the same gradients.
// Encoding each grid once with copies = 3 equals encoding the input repeated 3 times: same
// outputs and parameter gradients (same dropout draws), and the copies differ (own dropout).
void ExpectSharedCopiesEqualTheRepeatedInput(const torch::Tensor& features,
                                             const torch::Tensor& mask,
                                             const torch::Tensor& adjacency) {
  ObjectEncoder encoder(ObjectEncoderOptions{23, 32, "gelu", true, 2, 4, 0.1});
  encoder->train();
  auto run = [&](bool shared) {
    torch::manual_seed(5);
    encoder->zero_grad();
    const torch::Tensor h =
        shared ? encoder->forward(features, mask, adjacency, 3)
               : encoder->forward(features.repeat_interleave(3, 0), mask.repeat_interleave(3, 0),
                                  adjacency.repeat_interleave(3, 0));
    (h * torch::arange(h.numel(), torch::kFloat32).reshape(h.sizes()).sin()).sum().backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : encoder->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(h.detach(), grads);
  };
  const auto [shared, shared_grads] = run(true);
  const auto [repeated, repeated_grads] = run(false);
  ASSERT_EQ(shared.sizes(), (std::vector<int64_t>{3 * features.size(0), features.size(1), 32}));
  EXPECT_TRUE(torch::allclose(shared, repeated, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(shared[0], shared[1]));  // the copies got different dropout
  for (size_t i = 0; i < shared_grads.size(); ++i) {
    EXPECT_TRUE(torch::allclose(shared_grads[i], repeated_grads[i], 1e-4, 1e-5))
        << "parameter " << i;
  }
}

TEST(ObjectEncoderTest, SharedCopiesEqualTheRepeatedInput) {
  Batch b;  // 4 objects: the attention runs as ATen ops
  ExpectSharedCopiesEqualTheRepeatedInput(b.features, b.mask, b.adjacency);
}

TEST(ObjectEncoderTest, SharedCopiesEqualTheRepeatedInputInTheFusedAttention) {
  torch::manual_seed(8);  // 8 objects, head dim 8: FusedAttention
  const torch::Tensor mask =
      (torch::arange(8) < torch::tensor({6, 8, 3}).unsqueeze(1)).to(torch::kFloat32);
  const torch::Tensor features = torch::rand({3, 8, 23}) * mask.unsqueeze(-1);
  const torch::Tensor adjacency =
      (torch::rand({3, 8, 8}) > 0.5).to(torch::kFloat32) * mask.unsqueeze(1) * mask.unsqueeze(2);
  ASSERT_TRUE(FusedAttentionApplies(torch::zeros({3, 8, 32}), 4));
  ExpectSharedCopiesEqualTheRepeatedInput(features, mask, adjacency);
}

TEST(SmallBmmTest, MatchesMatmulWithGradients) {
  torch::manual_seed(3);
  for (const auto& [n, k, m] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{16, 24, 32}, {3, 64, 16}, {4, 5, 6}}) {
    const torch::Tensor a = torch::randn({2, 3, n, k}, torch::requires_grad());
    const torch::Tensor b = torch::randn({2, 3, k, m}, torch::requires_grad());
    const torch::Tensor w = torch::randn({2, 3, n, m});
    const torch::Tensor c = SmallBmm(a, b);
    (c * w).sum().backward();
    const torch::Tensor ga = a.grad().clone(), gb = b.grad().clone();
    a.mutable_grad().reset();
    b.mutable_grad().reset();
    const torch::Tensor expected = torch::matmul(a, b);
    (expected * w).sum().backward();
    EXPECT_TRUE(torch::allclose(c, expected, 1e-5, 1e-5)) << n << "x" << k << "x" << m;
    EXPECT_TRUE(torch::allclose(ga, a.grad(), 1e-5, 1e-5)) << n << "x" << k << "x" << m;
    EXPECT_TRUE(torch::allclose(gb, b.grad(), 1e-5, 1e-5)) << n << "x" << k << "x" << m;
  }
  // Transposed (non-contiguous) operands, as the attention logits use them.
  const torch::Tensor q = torch::randn({8, 4, 16, 16});
  const torch::Tensor k = torch::randn({8, 16, 4, 16}).transpose(1, 2);
  EXPECT_TRUE(torch::allclose(SmallBmm(q, k.transpose(-2, -1)),
                              torch::matmul(q, k.transpose(-2, -1)), 1e-5, 1e-5));
}

TEST(JepaModelTest, FramesRepeatFirstDetectsPaddedWindows) {
  Batch b;
  const torch::Tensor f = b.features.unsqueeze(1).expand({2, 3, 4, 23}).contiguous();
  const torch::Tensor m = b.mask.unsqueeze(1).expand({2, 3, 4}).contiguous();
  const torch::Tensor a = b.adjacency.unsqueeze(1).expand({2, 3, 4, 4}).contiguous();
  EXPECT_TRUE(FramesRepeatFirst(f, m, a));
  torch::Tensor moved = f.clone();
  moved[1][2][0][7] += 0.01;  // one coordinate of the last frame of one sample
  EXPECT_FALSE(FramesRepeatFirst(moved, m, a));
  torch::Tensor linked = a.clone();
  linked[0][1][0][2] = 1;
  EXPECT_FALSE(FramesRepeatFirst(f, m, linked));
}

TEST(ContextAggregationTest, MaskedMeanPool) {
  torch::Tensor objects = torch::tensor({1.f, 2.f, 3.f, 4.f, 100.f, 100.f}).view({1, 3, 2});
  torch::Tensor mask = torch::tensor({1.f, 1.f, 0.f}).view({1, 3});
  torch::Tensor pooled = MaskedMeanPool(objects, mask);
  EXPECT_TRUE(torch::allclose(pooled, torch::tensor({2.f, 3.f}).view({1, 2})));
  EXPECT_TRUE(torch::allclose(MaskedMeanPool(objects, torch::zeros({1, 3})), torch::zeros({1, 2})));
}

TEST(ContextAggregationTest, Modes) {
  torch::Tensor grids = torch::arange(12, torch::kFloat).view({1, 3, 4});  // B=1, T=3, H=4
  ContextAggregation mean(ContextAggregationOptions{"mean", 3});
  EXPECT_TRUE(torch::allclose(mean->forward(grids), grids.mean(1)));
  ContextAggregation last(ContextAggregationOptions{"last", 3});
  EXPECT_TRUE(torch::allclose(last->forward(grids), grids[0][2].unsqueeze(0)));
  ContextAggregation learned(ContextAggregationOptions{"learned", 3});
  EXPECT_EQ(learned->parameters().size(), 2u);  // Linear(T,T): weight and bias
  torch::Tensor out = learned->forward(grids);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 4}));
  // A convex combination over time per channel: within [min_t, max_t] of each channel.
  EXPECT_TRUE((out >= grids.amin(1) - 1e-5).all().item<bool>());
  EXPECT_TRUE((out <= grids.amax(1) + 1e-5).all().item<bool>());
  // Order matters for `last` and can matter for `learned`, never for `mean`.
  torch::Tensor reversed = grids.flip(1);
  EXPECT_TRUE(torch::allclose(mean->forward(reversed), mean->forward(grids)));
  EXPECT_FALSE(torch::allclose(last->forward(reversed), last->forward(grids)));
}

}  // namespace
}  // namespace jepalab::trainer
