#include "trainer_service/core/model/fused_attention.h"

#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "trainer_service/core/model/fast_dropout.h"
#include "trainer_service/core/model/small_bmm.h"

namespace jepalab::trainer {
namespace {

struct Shape {
  int64_t grids, n, hidden, heads, d, copies;
  float scale;  // 1/√d
  bool dropout;
  DropoutHash hash;

  int64_t Row(int64_t grid, int64_t i) const {
    return (grid * n + i) * hidden;
  }  // offset of q/k/v row i
  int64_t OutRow(int64_t grid, int64_t copy, int64_t i) const {
    return ((grid * copies + copy) * n + i) * hidden;
  }
  // Index of weight (i, j) of `head` in the [M·copies, heads, N, N] tensor FastDropout would mask.
  uint32_t MaskIndex(int64_t grid, int64_t copy, int64_t head, int64_t i, int64_t j) const {
    return static_cast<uint32_t>((((grid * copies + copy) * heads + head) * n + i) * n + j);
  }
};

// The kernels below are written for AVX2 + FMA, 8 floats at a time: head_dim and N must be
// multiples of 8 (FusedAttentionApplies checks, together with the CPU).
#define JEPALAB_AVX2 __attribute__((target("avx2,fma")))

JEPALAB_AVX2 inline void Zero(float* y, int64_t len) {
  for (int64_t p = 0; p < len; p += 8) _mm256_storeu_ps(y + p, _mm256_setzero_ps());
}

// e^x for x ≤ 0 (Cephes' expf: range reduction by ln 2 and a degree-5 polynomial, ~2 ulp).
JEPALAB_AVX2 inline __m256 Exp(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  const __m256 fx = _mm256_floor_ps(
      _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i pow2 =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(pow2));
}

JEPALAB_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// dst [d, N] = the head's column block of rows 0..N−1 of src, transposed, so that products run
// along j in vector lanes.
void TransposeBlock(const float* src, int64_t grid, int64_t col, const Shape& s, float* dst) {
  for (int64_t j = 0; j < s.n; ++j) {
    const float* row = src + s.Row(grid, j) + col;
    for (int64_t p = 0; p < s.d; ++p) dst[p * s.n + j] = row[p];
  }
}

// out [N] = a [d] · bt [d, N].
JEPALAB_AVX2 inline void RowTimes(const float* a, const float* bt, int64_t d, int64_t n,
                                  float* out) {
  for (int64_t j = 0; j < n; j += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t p = 0; p < d; ++p)
      acc = _mm256_fmadd_ps(_mm256_set1_ps(a[p]), _mm256_loadu_ps(bt + p * n + j), acc);
    _mm256_storeu_ps(out + j, acc);
  }
}

// For r < rows: dst row r [d] (+)= Σ_t coeff[r·rs + t·cs] · src row t [d], t < terms; rows of src
// and dst are `stride` floats apart. Accumulates in registers; no branches on the coefficients.
JEPALAB_AVX2 void Combine(const float* coeff, int64_t rs, int64_t cs, int64_t rows, int64_t terms,
                          const float* src, float* dst, int64_t stride, int64_t d,
                          bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t p = 0; p < d; p += 8) {
      __m256 acc = accumulate ? _mm256_loadu_ps(dst + r * stride + p) : _mm256_setzero_ps();
      for (int64_t t = 0; t < terms; ++t) {
        acc = _mm256_fmadd_ps(_mm256_set1_ps(coeff[r * rs + t * cs]),
                              _mm256_loadu_ps(src + t * stride + p), acc);
      }
      _mm256_storeu_ps(dst + r * stride + p, acc);
    }
  }
}

// Scratch of one thread: kᵀ or vᵀ [d, N], the dropout factors and the dropped weights [N, N],
// and the gradient of the weights [N, N].
struct Scratch {
  explicit Scratch(const Shape& s)
      : transposed(static_cast<size_t>(s.d * s.n)),
        keep(static_cast<size_t>(s.n * s.n)),
        dropped(static_cast<size_t>(s.n * s.n)),
        grad(static_cast<size_t>(s.n * s.n)),
        row(static_cast<size_t>(s.n)) {}
  std::vector<float> transposed, keep, dropped, grad, row;
};

JEPALAB_AVX2 void Multiply(const float* a, const float* b, int64_t count, float* out) {
  for (int64_t e = 0; e < count; e += 8)
    _mm256_storeu_ps(out + e, _mm256_mul_ps(_mm256_loadu_ps(a + e), _mm256_loadu_ps(b + e)));
}

// The weights copy `copy` multiplies v by: w without dropout, else w ⊙ its keep matrix [N, N]
// (left in scratch.keep, which the backward reads too; the weights' mask indices are consecutive).
const float* DroppedWeights(const float* w, int64_t grid, int64_t copy, int64_t head,
                            const Shape& s, Scratch& scratch) {
  if (!s.dropout) return w;
  s.hash.Fill(s.MaskIndex(grid, copy, head, 0, 0), s.n * s.n, scratch.keep.data());
  Multiply(w, scratch.keep.data(), s.n * s.n, scratch.dropped.data());
  return scratch.dropped.data();
}

// Softmax over the allowed entries of row [N] (in place; the others become 0).
JEPALAB_AVX2 void MaskedSoftmax(const bool* ok, float scale, int64_t n, float* row) {
  float max = std::numeric_limits<float>::lowest();
  for (int64_t j = 0; j < n; ++j) max = ok[j] ? std::max(max, row[j] * scale) : max;
  const __m256 vmax = _mm256_set1_ps(max), vscale = _mm256_set1_ps(scale);
  __m256 vsum = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += 8) {
    const __m256 e = Exp(_mm256_min_ps(_mm256_fmsub_ps(_mm256_loadu_ps(row + j), vscale, vmax),
                                       _mm256_setzero_ps()));
    // ok[j..j+7] as an all-ones/all-zeros lane mask.
    const __m256i bytes =
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(ok + j)));
    const __m256 lane = _mm256_castsi256_ps(_mm256_cmpgt_epi32(bytes, _mm256_setzero_si256()));
    const __m256 kept = _mm256_and_ps(e, lane);
    _mm256_storeu_ps(row + j, kept);
    vsum = _mm256_add_ps(vsum, kept);
  }
  const float sum = HorizontalSum(vsum);
  const __m256 inv = _mm256_set1_ps(sum > 0 ? 1.0f / sum : 0.0f);
  for (int64_t j = 0; j < n; j += 8)
    _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), inv));
}

// Forward of one (grid, head): softmax weights into w [N, N] (zero where not allowed), then the
// output rows of every copy.
JEPALAB_AVX2 void ForwardOne(const float* q, const float* k, const float* v, const bool* allowed,
                             int64_t grid, int64_t head, const Shape& s, Scratch& scratch, float* w,
                             float* out) {
  const int64_t n = s.n, d = s.d, col = head * d;
  TransposeBlock(k, grid, col, s, scratch.transposed.data());
  for (int64_t i = 0; i < n; ++i) {
    RowTimes(q + s.Row(grid, i) + col, scratch.transposed.data(), d, n, w + i * n);
    MaskedSoftmax(allowed + (grid * n + i) * n, s.scale, n, w + i * n);
  }
  for (int64_t c = 0; c < s.copies; ++c) {
    const float* weights = DroppedWeights(w, grid, c, head, s, scratch);
    Combine(weights, n, 1, n, n, v + s.Row(grid, 0) + col, out + s.OutRow(grid, c, 0) + col,
            s.hidden, d, false);
  }
}

// Gradients of one (grid, head) into its column block of gq, gk, gv.
JEPALAB_AVX2 void BackwardOne(const float* q, const float* k, const float* v, const float* w,
                              const float* gout, int64_t grid, int64_t head, const Shape& s,
                              Scratch& scratch, float* gq, float* gk, float* gv) {
  const int64_t n = s.n, d = s.d, col = head * d;
  float *gw = scratch.grad.data(), *keep = scratch.keep.data(), *g_dropped = scratch.row.data();
  Zero(gw, n * n);
  TransposeBlock(v, grid, col, s, scratch.transposed.data());
  for (int64_t c = 0; c < s.copies; ++c) {
    const float* weights = DroppedWeights(w, grid, c, head, s, scratch);
    const float* g = gout + s.OutRow(grid, c, 0) + col;
    // gv_j += Σ_i dropped_ij g_i.
    Combine(weights, 1, n, n, n, g, gv + s.Row(grid, 0) + col, s.hidden, d, c > 0);
    for (int64_t i = 0; i < n; ++i) {  // gw_ij += keep_ij (g_i · v_j)
      RowTimes(g + i * s.hidden, scratch.transposed.data(), d, n, g_dropped);
      for (int64_t j = 0; j < n; j += 8) {
        const __m256 factor = s.dropout ? _mm256_loadu_ps(keep + i * n + j) : _mm256_set1_ps(1.0f);
        _mm256_storeu_ps(gw + i * n + j, _mm256_fmadd_ps(factor, _mm256_loadu_ps(g_dropped + j),
                                                         _mm256_loadu_ps(gw + i * n + j)));
      }
    }
  }
  // Softmax backward (masked weights are 0, so they pass no gradient), then the scaled q·kᵀ.
  const __m256 vscale = _mm256_set1_ps(s.scale);
  for (int64_t i = 0; i < n; ++i) {
    float* gl = gw + i * n;
    const float* wi = w + i * n;
    __m256 vdot = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; j += 8)
      vdot = _mm256_fmadd_ps(_mm256_loadu_ps(wi + j), _mm256_loadu_ps(gl + j), vdot);
    const __m256 dot = _mm256_set1_ps(HorizontalSum(vdot));
    for (int64_t j = 0; j < n; j += 8) {
      const __m256 g = _mm256_sub_ps(_mm256_loadu_ps(gl + j), dot);
      _mm256_storeu_ps(gl + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(wi + j), g), vscale));
    }
  }
  Combine(gw, n, 1, n, n, k + s.Row(grid, 0) + col, gq + s.Row(grid, 0) + col, s.hidden, d,
          false);  // gq_i
  Combine(gw, 1, n, n, n, q + s.Row(grid, 0) + col, gk + s.Row(grid, 0) + col, s.hidden, d,
          false);  // gk_j
}

// Work items are (grid, head) pairs, item = grid·heads + head; a chunk of 8 is a few µs of work.
template <typename F>
void ForEachGridHead(const Shape& s, const F& f) {
  at::parallel_for(0, s.grids * s.heads, 8, f);
}

Shape MakeShape(const torch::Tensor& q, int64_t heads, int64_t copies, double dropout,
                uint64_t seed) {
  Shape s{q.size(0),
          q.size(1),
          q.size(2),
          heads,
          q.size(2) / heads,
          copies,
          static_cast<float>(1.0 / std::sqrt(static_cast<double>(q.size(2) / heads))),
          dropout > 0,
          DropoutHash(dropout, seed)};
  return s;
}

class FusedAttentionFunction : public torch::autograd::Function<FusedAttentionFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                               const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& allowed, int64_t heads, int64_t copies,
                               double dropout) {
    const uint64_t seed = dropout > 0 ? DrawDropoutSeed() : 0;
    const Shape s = MakeShape(q, heads, copies, dropout, seed);
    torch::Tensor w = torch::empty({s.grids, heads, s.n, s.n}, q.options());
    torch::Tensor out = torch::empty({s.grids * copies, s.n, s.hidden}, q.options());
    const float *pq = q.data_ptr<float>(), *pk = k.data_ptr<float>(), *pv = v.data_ptr<float>();
    const bool* pa = allowed.data_ptr<bool>();
    float *pw = w.data_ptr<float>(), *po = out.data_ptr<float>();
    ForEachGridHead(s, [&](int64_t begin, int64_t end) {
      Scratch scratch(s);
      for (int64_t item = begin; item < end; ++item) {
        ForwardOne(pq, pk, pv, pa, item / heads, item % heads, s, scratch, pw + item * s.n * s.n,
                   po);
      }
    });
    ctx->save_for_backward({q, k, v, w});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["copies"] = copies;
    ctx->saved_data["dropout"] = dropout;
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &w = saved[3];
    const int64_t heads = ctx->saved_data["heads"].toInt();
    const Shape s = MakeShape(q, heads, ctx->saved_data["copies"].toInt(),
                              ctx->saved_data["dropout"].toDouble(),
                              static_cast<uint64_t>(ctx->saved_data["seed"].toInt()));
    const torch::Tensor gout = grads[0].contiguous();
    torch::Tensor gq = torch::empty_like(q), gk = torch::empty_like(k), gv = torch::empty_like(v);
    const float *pq = q.data_ptr<float>(), *pk = k.data_ptr<float>(), *pv = v.data_ptr<float>();
    const float *pw = w.data_ptr<float>(), *pg = gout.data_ptr<float>();
    float *pgq = gq.data_ptr<float>(), *pgk = gk.data_ptr<float>(), *pgv = gv.data_ptr<float>();
    ForEachGridHead(s, [&](int64_t begin, int64_t end) {
      Scratch scratch(s);
      for (int64_t item = begin; item < end; ++item) {
        BackwardOne(pq, pk, pv, pw + item * s.n * s.n, pg, item / heads, item % heads, s, scratch,
                    pgq, pgk, pgv);
      }
    });
    return {gq, gk, gv, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool FusedAttentionSupports(int64_t objects, int64_t head_dim) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return avx2 && objects > 0 && objects % 8 == 0 && head_dim > 0 && head_dim % 8 == 0;
}

bool FusedAttentionApplies(const torch::Tensor& q, int64_t heads) {
  return q.device().is_cpu() && q.scalar_type() == torch::kFloat32 && q.dim() == 3 && heads > 0 &&
         q.size(2) % heads == 0 && FusedAttentionSupports(q.size(1), q.size(2) / heads);
}

torch::Tensor FusedAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& allowed, int64_t heads, int64_t copies,
                             double dropout) {
  TORCH_CHECK(FusedAttentionApplies(q, heads) && q.sizes() == k.sizes() && q.sizes() == v.sizes(),
              "FusedAttention: q, k, v must be float32 CPU tensors of one shape [M, N, H] with N "
              "and H/heads "
              "multiples of 8, on a CPU with AVX2 and FMA");
  TORCH_CHECK(copies >= 1, "FusedAttention: copies must be >= 1");
  TORCH_CHECK(dropout >= 0 && dropout < 1, "FusedAttention: dropout must be in [0, 1)");
  TORCH_CHECK(allowed.scalar_type() == torch::kBool &&
                  allowed.sizes() == torch::IntArrayRef({q.size(0), q.size(1), q.size(1)}),
              "FusedAttention: allowed must be bool [M, N, N]");
  TORCH_CHECK(q.size(0) * copies * heads * q.size(1) * q.size(1) < (int64_t{1} << 32),
              "FusedAttention: more than 2^32 attention weights");
  return FusedAttentionFunction::apply(q.contiguous(), k.contiguous(), v.contiguous(),
                                       allowed.contiguous(), heads, copies, dropout);
}

torch::Tensor UnfusedAttention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& allowed, int64_t heads,
                               int64_t copies, double dropout) {
  const int64_t m = q.size(0), n = q.size(1), hidden = q.size(2), head_dim = hidden / heads;
  auto split = [&](const torch::Tensor& t) {
    return t.reshape({m, n, heads, head_dim}).transpose(1, 2);
  };
  auto repeat = [&](const torch::Tensor& t) {
    return copies == 1 ? t : t.repeat_interleave(copies, 0);
  };
  torch::Tensor logits =
      SmallBmm(split(q), split(k).transpose(-2, -1)) / std::sqrt(static_cast<double>(head_dim));
  const torch::Tensor allowed_heads = allowed.unsqueeze(1);  // [M,1,N,N]
  logits = logits.masked_fill(allowed_heads.logical_not(), -std::numeric_limits<float>::infinity());
  // Re-zero disallowed weights after the softmax (reference §3.2), then each copy's own dropout.
  const torch::Tensor weights =
      FastDropout(repeat(torch::softmax(logits, -1) * allowed_heads), dropout, true);
  return SmallBmm(weights, repeat(split(v))).transpose(1, 2).reshape({m * copies, n, hidden});
}

}  // namespace jepalab::trainer
