#include "trainer_service/core/model/parallel_linear.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace jepalab::trainer {
namespace {

// Column-major Fortran BLAS, the one ATen itself calls (OpenBLAS here). Looked up at run time:
// libtorch loads it, and linking it directly would tie the binary to one BLAS package.
using Sgemm = void (*)(const char* transa, const char* transb, const int* m, const int* n,
                       const int* k, const float* alpha, const float* a, const int* lda,
                       const float* b, const int* ldb, const float* beta, float* c, const int* ldc);

Sgemm LookUpSgemm() {
  static const Sgemm sgemm = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
  return sgemm;
}

// Below this many multiply-adds per thread the split costs more than it saves (~50 µs of work).
constexpr int64_t kMinMacsPerThread = int64_t{1} << 20;

// Row-major C [rows, cols] (+)= op(A) op(B), written as the column-major product Cᵀ = op(B)ᵀ
// op(A)ᵀ.
void RowMajorGemm(bool trans_a, bool trans_b, int64_t rows, int64_t cols, int64_t depth,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
  const char tb = trans_b ? 'T' : 'N', ta = trans_a ? 'T' : 'N';
  const int m = static_cast<int>(cols), n = static_cast<int>(rows), k = static_cast<int>(depth);
  const int ldb_i = static_cast<int>(ldb), lda_i = static_cast<int>(lda),
            ldc_i = static_cast<int>(ldc);
  const float alpha = 1.0f;
  LookUpSgemm()(&tb, &ta, &m, &n, &k, &alpha, b, &ldb_i, a, &lda_i, &beta, c, &ldc_i);
}

// Splits [0, n) into one chunk per thread when each chunk carries enough work.
template <typename F>
void ForChunks(int64_t n, int64_t macs_per_item, const F& f) {
  const int64_t threads = at::get_num_threads();
  const int64_t min_items =
      std::max<int64_t>(1, kMinMacsPerThread / std::max<int64_t>(1, macs_per_item));
  const int64_t grain = std::max<int64_t>((n + threads - 1) / threads, min_items);
  at::parallel_for(0, n, grain, f);
}

bool UseFastPath(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (LookUpSgemm() == nullptr || at::get_num_threads() < 2 || at::in_parallel_region())
    return false;
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32 || !weight.device().is_cpu() ||
      weight.scalar_type() != torch::kFloat32 || weight.dim() != 2 || x.dim() < 1 ||
      x.size(-1) != weight.size(1)) {
    return false;
  }
  if (bias.defined() && (bias.scalar_type() != torch::kFloat32 || bias.numel() != weight.size(0)))
    return false;
  const int64_t rows = x.numel() / std::max<int64_t>(1, x.size(-1));
  const int64_t macs = rows * weight.size(0) * weight.size(1);
  return macs >= 2 * kMinMacsPerThread && rows < INT_MAX && x.numel() < INT_MAX;
}

// y [rows, out] = x [rows, in] Wᵀ + b, split by rows.
torch::Tensor Forward(const torch::Tensor& x2d, const torch::Tensor& weight,
                      const torch::Tensor& bias) {
  const int64_t rows = x2d.size(0), in = x2d.size(1), out = weight.size(0);
  torch::Tensor y = torch::empty({rows, out}, x2d.options());
  const float* px = x2d.data_ptr<float>();
  const float* pw = weight.data_ptr<float>();
  const float* pb = bias.defined() ? bias.data_ptr<float>() : nullptr;
  float* py = y.data_ptr<float>();
  ForChunks(rows, in * out, [&](int64_t begin, int64_t end) {
    if (pb != nullptr) {
      for (int64_t r = begin; r < end; ++r) std::memcpy(py + r * out, pb, sizeof(float) * out);
    }
    RowMajorGemm(false, true, end - begin, out, in, px + begin * in, in, pw, in,
                 pb != nullptr ? 1.0f : 0.0f, py + begin * out, out);
  });
  return y;
}

class ParallelLinearFunction : public torch::autograd::Function<ParallelLinearFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x2d,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    ctx->save_for_backward({x2d, weight});
    return Forward(x2d, weight, bias);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor g = grads[0].contiguous();
    const int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
    const float* pg = g.data_ptr<float>();
    torch::Tensor grad_x, grad_w, grad_b;
    if (ctx->needs_input_grad(0)) {  // [rows, in] = g [rows, out] W [out, in], split by rows
      grad_x = torch::empty({rows, in}, x.options());
      float* pgx = grad_x.data_ptr<float>();
      const float* pw = weight.data_ptr<float>();
      ForChunks(rows, in * out, [&](int64_t begin, int64_t end) {
        RowMajorGemm(false, false, end - begin, in, out, pg + begin * out, out, pw, in, 0.0f,
                     pgx + begin * in, in);
      });
    }
    if (ctx->needs_input_grad(1)) {  // [out, in] = gᵀ [out, rows] x [rows, in], split by rows of W
      grad_w = torch::empty({out, in}, weight.options());
      float* pgw = grad_w.data_ptr<float>();
      const float* px = x.data_ptr<float>();
      ForChunks(out, rows * in, [&](int64_t begin, int64_t end) {
        RowMajorGemm(true, false, end - begin, in, rows, pg + begin, out, px, in, 0.0f,
                     pgw + begin * in, in);
      });
    }
    if (ctx->needs_input_grad(2)) grad_b = g.sum(0);
    return {grad_x, grad_w, grad_b};
  }
};

}  // namespace

void UseSingleThreadedBlas() {
  // Looked up at run time, like sgemm_: no link-time dependency on OpenBLAS.
  using SetBlasThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(1);
}

torch::Tensor ParallelLinear(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias) {
  if (!UseFastPath(x, weight, bias)) return torch::nn::functional::linear(x, weight, bias);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = weight.size(0);
  const torch::Tensor x2d = x.reshape({-1, x.size(-1)}).contiguous();
  const torch::Tensor w = weight.contiguous();
  if (!torch::GradMode::is_enabled() || (!x.requires_grad() && !weight.requires_grad() &&
                                         !(bias.defined() && bias.requires_grad()))) {
    return Forward(x2d, w, bias.defined() ? bias.contiguous() : bias).view(shape);
  }
  // autograd::Function cannot take an undefined input: no bias is a zero bias that needs no grad.
  const torch::Tensor b =
      bias.defined() ? bias.contiguous() : torch::zeros({weight.size(0)}, weight.options());
  return ParallelLinearFunction::apply(x2d, w, b).view(shape);
}

}  // namespace jepalab::trainer
