// The guard switches CUDA autocast to bf16 and restores the previous state; CPU math is untouched.
#include "trainer_service/core/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

TEST(ScopedCudaBf16AutocastTest, EnablesBf16AndRestores) {
  ASSERT_FALSE(at::autocast::is_enabled());
  const at::ScalarType before = at::autocast::get_autocast_gpu_dtype();
  {
    ScopedCudaBf16Autocast guard(true);
    EXPECT_TRUE(at::autocast::is_enabled());
    EXPECT_EQ(at::autocast::get_autocast_gpu_dtype(), at::kBFloat16);
    // CPU tensors stay fp32 under the CUDA autocast switch.
    const torch::Tensor a = torch::randn({4, 4});
    EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kFloat32);
  }
  EXPECT_FALSE(at::autocast::is_enabled());
  EXPECT_EQ(at::autocast::get_autocast_gpu_dtype(), before);
}

TEST(ScopedCudaBf16AutocastTest, DisabledGuardChangesNothing) {
  {
    ScopedCudaBf16Autocast guard(false);
    EXPECT_FALSE(at::autocast::is_enabled());
  }
  EXPECT_FALSE(at::autocast::is_enabled());
}

}  // namespace
}  // namespace jepalab::trainer
