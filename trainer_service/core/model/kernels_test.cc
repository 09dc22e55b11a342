// The CPU kernels the model layers call instead of ATen's (ParallelLinear), checked against ATen.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "trainer_service/core/model/parallel_linear.h"

namespace jepalab::trainer {
namespace {

class ThreadCount {  // sets torch's intra-op threads for one test
 public:
  explicit ThreadCount(int n) : saved_(at::get_num_threads()) { at::set_num_threads(n); }
  ~ThreadCount() { at::set_num_threads(saved_); }

 private:
  int saved_;
};

struct LinearGrads {
  torch::Tensor y, x, w, b;
};

LinearGrads RunLinear(bool parallel, const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& b0,
                      const torch::Tensor& upstream) {
  torch::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
  torch::Tensor b = b0.defined() ? b0.clone().requires_grad_(true) : b0;
  torch::Tensor y = parallel ? ParallelLinear(x, w, b) : torch::nn::functional::linear(x, w, b);
  (y * upstream).sum().backward();
  return {y.detach(), x.grad(), w.grad(), b.defined() ? b.grad() : torch::Tensor()};
}

void ExpectClose(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_TRUE(torch::allclose(a, b, /*rtol=*/1e-5, /*atol=*/1e-5)) << what << ": max diff "
                                                                     << (a - b).abs().max().item<float>();
}

TEST(ParallelLinearTest, MatchesTorchLinearWithGradientsOnTwoThreads) {
  ThreadCount threads(2);
  torch::manual_seed(3);
  for (bool with_bias : {true, false}) {
    // [12, 256, 64] -> 128: big enough for the split path (3072 rows).
    const torch::Tensor x = torch::randn({12, 256, 64}), w = torch::randn({128, 64}) * 0.1;
    const torch::Tensor b = with_bias ? torch::randn({128}) : torch::Tensor();
    const torch::Tensor up = torch::randn({12, 256, 128});
    const LinearGrads want = RunLinear(false, x, w, b, up), got = RunLinear(true, x, w, b, up);
    ExpectClose(got.y, want.y, "output");
    ExpectClose(got.x, want.x, "grad x");
    ExpectClose(got.w, want.w, "grad weight");
    if (with_bias) ExpectClose(got.b, want.b, "grad bias");
  }
}

TEST(ParallelLinearTest, SameResultOnOneAndTwoThreads) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({4099, 23}), w = torch::randn({64, 23}), b = torch::randn({64});
  const torch::Tensor up = torch::randn({4099, 64});
  LinearGrads one, two;
  {
    ThreadCount threads(1);
    one = RunLinear(true, x, w, b, up);
  }
  {
    ThreadCount threads(2);
    two = RunLinear(true, x, w, b, up);
  }
  ExpectClose(two.y, one.y, "output");
  ExpectClose(two.x, one.x, "grad x");
  ExpectClose(two.w, one.w, "grad weight");
}

TEST(ParallelLinearTest, SmallAndNonContiguousInputsAndNoGrad) {
  ThreadCount threads(2);
  torch::manual_seed(5);
  const torch::Tensor w = torch::randn({64, 64}), b = torch::randn({64});
  const torch::Tensor small = torch::randn({3, 64});  // below the split threshold: torch's linear
  ExpectClose(ParallelLinear(small, w, b), torch::nn::functional::linear(small, w, b), "small");
  const torch::Tensor strided = torch::randn({64, 4096}).t();  // [4096, 64], not contiguous
  ExpectClose(ParallelLinear(strided, w, b), torch::nn::functional::linear(strided, w, b), "transposed input");
  torch::NoGradGuard no_grad;
  const torch::Tensor big = torch::randn({4096, 64});
  const torch::Tensor y = ParallelLinear(big, w.requires_grad_(true), b);
  EXPECT_FALSE(y.requires_grad());
  ExpectClose(y, torch::nn::functional::linear(big, w, b), "no grad");
}

}  // namespace
}  // namespace jepalab::trainer
