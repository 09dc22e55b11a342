#include "trainer_service/core/model/small_bmm.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace jepalab::trainer {
namespace {

constexpr int64_t kTile = 16;  // output columns held in registers (two AVX2 vectors)

// c [n, m] = a [n, k] @ b [k, m], all contiguous; m % kTile == 0.
__attribute__((target_clones("arch=haswell", "default"))) void MatMul(const float* a,
                                                                      const float* b, float* c,
                                                                      int64_t n, int64_t k,
                                                                      int64_t m) {
  for (int64_t i = 0; i < n; ++i) {
    const float* a_row = a + i * k;
    for (int64_t j0 = 0; j0 < m; j0 += kTile) {
      float acc[kTile] = {};
      for (int64_t p = 0; p < k; ++p) {
        const float x = a_row[p];
        const float* b_row = b + p * m + j0;
        for (int64_t j = 0; j < kTile; ++j) acc[j] += x * b_row[j];
      }
      float* c_row = c + i * m + j0;
      for (int64_t j = 0; j < kTile; ++j) c_row[j] = acc[j];
    }
  }
}

// a [B, n, k] @ b [B, k, m], contiguous float32 on the CPU.
torch::Tensor Bmm3(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t batch = a.size(0), n = a.size(1), k = a.size(2), m = b.size(2);
  torch::Tensor c = torch::empty({batch, n, m}, a.options());
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* pc = c.data_ptr<float>();
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, n * k * m));
  at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      MatMul(pa + i * n * k, pb + i * k * m, pc + i * n * m, n, k, m);
  });
  return c;
}

bool FastPath(const torch::Tensor& a, const torch::Tensor& b) {
  return a.device().is_cpu() && b.device().is_cpu() && a.scalar_type() == torch::kFloat32 &&
         b.scalar_type() == torch::kFloat32 && a.dim() >= 3 && a.dim() == b.dim() &&
         a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2) &&
         a.size(-1) == b.size(-2);
}

// Flattens the leading dimensions: [..., r, c] -> [B, r, c], contiguous.
torch::Tensor Flat(const torch::Tensor& t) {
  return t.reshape({-1, t.size(-2), t.size(-1)}).contiguous();
}

torch::Tensor Product(const torch::Tensor& a, const torch::Tensor& b) {
  if (b.size(-1) % kTile != 0 || !FastPath(a, b)) return torch::matmul(a, b);
  std::vector<int64_t> shape = a.sizes().vec();
  shape.back() = b.size(-1);
  return Bmm3(Flat(a), Flat(b)).view(shape);
}

class SmallBmmFunction : public torch::autograd::Function<SmallBmmFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a,
                               const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return Product(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& a = saved[0];
    const torch::Tensor& b = saved[1];
    const torch::Tensor& g = grads[0];
    torch::Tensor grad_a, grad_b;
    if (ctx->needs_input_grad(0))
      grad_a = Product(g, b.transpose(-2, -1));  // [.., n, m] @ [.., m, k]
    if (ctx->needs_input_grad(1))
      grad_b = Product(a.transpose(-2, -1), g);  // [.., k, n] @ [.., n, m]
    return {grad_a, grad_b};
  }
};

}  // namespace

torch::Tensor SmallBmm(const torch::Tensor& a, const torch::Tensor& b) {
  if (!FastPath(a, b)) return torch::matmul(a, b);
  if (!a.requires_grad() && !b.requires_grad()) return Product(a, b);
  return SmallBmmFunction::apply(a, b);
}

}  // namespace jepalab::trainer
