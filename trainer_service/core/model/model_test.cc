#include <torch/torch.h>

#include "gtest/gtest.h"
#include "trainer_service/core/data/grid_batch.h"
#include "trainer_service/core/model/ema.h"
#include "trainer_service/core/model/grid_encoder.h"
#include "trainer_service/core/model/projection_head.h"
#include "trainer_service/core/model/reduced_jepa.h"

namespace jepalab::trainer {
namespace {

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
  }
};

TEST_F(ModelTest, EncoderIgnoresPadding) {
  GridEncoder encoder(GridEncoderOptions{kNumColorIds, 8, "gelu"});
  Grid small(2, 2, 0);
  small.cells = {1, 2, 3, 4};
  Grid big(4, 5, 7);
  const GridTensors alone = ToTensors(PadGrids({&small}), torch::kCPU);
  const GridTensors padded = ToTensors(PadGrids({&small, &big}), torch::kCPU);
  ASSERT_EQ(padded.colors.size(1), 20);
  const torch::Tensor a = encoder(alone.colors, alone.coords, alone.mask);
  const torch::Tensor b = encoder(padded.colors, padded.coords, padded.mask);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{1, 8}));
  EXPECT_EQ(b.sizes(), (std::vector<int64_t>{2, 8}));
  EXPECT_TRUE(torch::allclose(a[0], b[0], 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(b[0], b[1]));
}

TEST_F(ModelTest, ProjectionIsUnitAndNonNegative) {
  ProjectionHead head(ProjectionHeadOptions{8, 16, 2, "relu"});
  const torch::Tensor p = head(torch::randn({10, 8}));
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{10, 16}));
  EXPECT_GE(p.min().item<float>(), 0.0f);
  const torch::Tensor norms = p.norm(2, 1);
  for (int i = 0; i < 10; ++i) {
    const float n = norms[i].item<float>();
    EXPECT_TRUE(std::abs(n - 1.0f) < 1e-5 || n == 0.0f) << n;
  }
  EXPECT_EQ(head->parameters().size(), 4u);  // two Linear layers
}

TEST_F(ModelTest, ContextMeansOverWindow) {
  ReducedJepaOptions options;
  options.encoder.hidden_dim = 8;
  options.projection = {8, 4, 2, "relu"};
  ReducedJepa model(options);
  Grid g(3, 3, 2);
  const GridTensors one = ToTensors(PadGrids({&g}), torch::kCPU);
  const GridTensors three = ToTensors(PadGrids({&g, &g, &g}), torch::kCPU);
  // Identical frames: the window mean equals the single-frame embedding.
  EXPECT_TRUE(torch::allclose(model->ContextProjection(three, 3), model->TargetProjection(one), 1e-5, 1e-6));
}

TEST_F(ModelTest, EmaTargetFollowsOnline) {
  torch::nn::Linear online(2, 2), target(2, 2);
  InitTargetFromOnline(*target, *online);
  EXPECT_TRUE(torch::equal(online->weight, target->weight));
  EXPECT_FALSE(target->weight.requires_grad());
  const torch::Tensor before = target->weight.clone();
  {
    torch::NoGradGuard no_grad;
    online->weight.add_(1.0);
  }
  UpdateEmaTarget(*target, *online, 0.9);
  EXPECT_TRUE(torch::allclose(target->weight, before + 0.1));
}

}  // namespace
}  // namespace jepalab::trainer
