// The CPU kernels the model layers call instead of ATen's (ParallelLinear, FusedAttention,
// DropoutHash::Fill), checked against the ATen ops they replace.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "trainer_service/core/model/fast_dropout.h"
#include "trainer_service/core/model/fused_attention.h"
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

LinearGrads RunLinear(bool parallel, const torch::Tensor& x0, const torch::Tensor& w0,
                      const torch::Tensor& b0, const torch::Tensor& upstream) {
  torch::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
  torch::Tensor b = b0.defined() ? b0.clone().requires_grad_(true) : b0;
  torch::Tensor y = parallel ? ParallelLinear(x, w, b) : torch::nn::functional::linear(x, w, b);
  (y * upstream).sum().backward();
  return {y.detach(), x.grad(), w.grad(), b.defined() ? b.grad() : torch::Tensor()};
}

void ExpectClose(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_TRUE(torch::allclose(a, b, /*rtol=*/1e-5, /*atol=*/1e-5))
      << what << ": max diff " << (a - b).abs().max().item<float>();
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
  const torch::Tensor x = torch::randn({4099, 23}), w = torch::randn({64, 23}),
                      b = torch::randn({64});
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
  ExpectClose(ParallelLinear(strided, w, b), torch::nn::functional::linear(strided, w, b),
              "transposed input");
  torch::NoGradGuard no_grad;
  const torch::Tensor big = torch::randn({4096, 64});
  const torch::Tensor y = ParallelLinear(big, w.requires_grad_(true), b);
  EXPECT_FALSE(y.requires_grad());
  ExpectClose(y, torch::nn::functional::linear(big, w, b), "no grad");
}

TEST(DropoutHashTest, FillEqualsTheScalarHashIncludingTheTail) {
  const DropoutHash hash(0.3, 0x0123456789ABCDEFull);
  std::vector<float> filled(37);
  hash.Fill(4294967290u, 37,
            filled.data());  // 37 = 4 vectors + a tail of 5; the index wraps past 2^32
  int kept = 0;
  for (int64_t e = 0; e < 37; ++e) {
    EXPECT_EQ(filled[e], hash(4294967290u + static_cast<uint32_t>(e))) << e;
    kept += filled[e] > 0;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, 37);
}

struct AttentionGrads {
  torch::Tensor out, q, k, v;
};

AttentionGrads RunAttention(bool fused, const torch::Tensor& q0, const torch::Tensor& k0,
                            const torch::Tensor& v0, const torch::Tensor& allowed, int64_t copies,
                            double p, const torch::Tensor& upstream) {
  torch::Tensor q = q0.clone().requires_grad_(true), k = k0.clone().requires_grad_(true);
  torch::Tensor v = v0.clone().requires_grad_(true);
  torch::manual_seed(99);  // the dropout seed
  const torch::Tensor out = fused ? FusedAttention(q, k, v, allowed, 4, copies, p)
                                  : UnfusedAttention(q, k, v, allowed, 4, copies, p);
  (out * upstream).sum().backward();
  return {out.detach(), q.grad(), k.grad(), v.grad()};
}

TEST(FusedAttentionTest, MatchesTheUnfusedOpsWithGradients) {
  torch::manual_seed(6);
  const int64_t m = 10, n = 16, h = 64;
  const torch::Tensor q = torch::randn({m, n, h}), k = torch::randn({m, n, h}),
                      v = torch::randn({m, n, h});
  // Touching pairs plus the diagonal (every row has an allowed entry), as the layer builds them.
  const torch::Tensor allowed =
      (torch::rand({m, n, n}) > 0.6) | torch::eye(n, torch::kBool).unsqueeze(0);
  for (int threads : {1, 2}) {
    ThreadCount count(threads);
    for (int64_t copies : {1, 3}) {
      for (double p : {0.0, 0.1, 0.5}) {
        SCOPED_TRACE("threads " + std::to_string(threads) + ", copies " + std::to_string(copies) +
                     ", p " + std::to_string(p));
        const torch::Tensor up = torch::randn({m * copies, n, h});
        const AttentionGrads want = RunAttention(false, q, k, v, allowed, copies, p, up);
        const AttentionGrads got = RunAttention(true, q, k, v, allowed, copies, p, up);
        ExpectClose(got.out, want.out, "output");
        ExpectClose(got.q, want.q, "grad q");
        ExpectClose(got.k, want.k, "grad k");
        ExpectClose(got.v, want.v, "grad v");
      }
    }
  }
}

TEST(FusedAttentionTest, DisallowedPairsGetNoWeightAndBadArgumentsAreRefused) {
  const int64_t n = 8;
  const torch::Tensor q = torch::randn({1, n, 16}), k = torch::randn({1, n, 16});
  const torch::Tensor v =
      torch::eye(n).repeat({1, 2}).unsqueeze(0);  // 2 heads of 8: v row j = e_j twice
  const torch::Tensor allowed = torch::eye(n, torch::kBool).unsqueeze(0);  // self only
  // With only the self pair allowed every weight is 1 on the diagonal: the output is v itself.
  ExpectClose(FusedAttention(q, k, v, allowed, 2, 1, 0.0), v, "self-only attention");
  EXPECT_THROW(FusedAttention(q, k, v, allowed, 3, 1, 0.0), c10::Error);  // 3 does not divide 16
  EXPECT_THROW(FusedAttention(q, k, v, allowed, 2, 1, 1.0), c10::Error);  // drops everything
  EXPECT_FALSE(FusedAttentionApplies(torch::randn({1, 5, 8}), 1));        // N not a multiple of 8
  EXPECT_THROW(FusedAttention(q, k, v, allowed.to(torch::kFloat32), 2, 1, 0.0),
               c10::Error);  // not bool
  EXPECT_THROW(FusedAttention(q, k.narrow(1, 0, 2), v, allowed, 2, 1, 0.0),
               c10::Error);  // shapes differ
}

}  // namespace
}  // namespace jepalab::trainer
