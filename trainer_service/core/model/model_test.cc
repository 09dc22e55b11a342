#include <torch/torch.h>

#include "gtest/gtest.h"
#include "trainer_service/core/model/ema.h"
#include "trainer_service/core/model/projection_head.h"

namespace jepalab::trainer {
namespace {

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
  }
};

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
