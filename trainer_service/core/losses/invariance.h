// Invariance transforms of object-token feature tensors (reference §4.4) as pure functions with
// the random draws passed in, the draws themselves (in the reference's order), and the weighted
// MSE combination of the re-encoded representations.
#ifndef JEPALAB_TRAINER_SERVICE_CORE_LOSSES_INVARIANCE_H_
#define JEPALAB_TRAINER_SERVICE_CORE_LOSSES_INVARIANCE_H_

#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace jepalab::trainer {

// Column layout of the tokenizer's features (reference §2): 13 scalars, then the histogram slots.
struct TokenFeatureColumns {
  static constexpr int64_t kDominantColor = 6;
  static constexpr int64_t kCentroidY = 7;
  static constexpr int64_t kCentroidX = 8;
  static constexpr int64_t kBboxMinY = 9;
  static constexpr int64_t kBboxMinX = 10;
  static constexpr int64_t kBboxMaxY = 11;
  static constexpr int64_t kBboxMaxX = 12;
  static constexpr int64_t kHistogramStart = 13;
};

// features [..., N, F], mask [..., N] (valid > 0). Padding rows are never changed.
// Colour: dominant colour c -> color_perm[clamp(round(c), 0, P−1)] (P = color_perm.size(0));
// histogram slots: new slot j = old slot slot_perm[j] (slot_perm covers the F − 13 slots).
torch::Tensor ColorPermuted(const torch::Tensor& features, const torch::Tensor& mask,
                            const torch::Tensor& color_perm, const torch::Tensor& slot_perm);

// uniform_dy, uniform_dx [..., N] in [0, 1): shift = (2u − 1)·max_delta per object, added to the
// centroid, bbox min and bbox max of y and x, clamped to [coordinate_min, coordinate_max].
torch::Tensor Translated(const torch::Tensor& features, const torch::Tensor& mask,
                         const torch::Tensor& uniform_dy, const torch::Tensor& uniform_dx,
                         double max_delta, double coordinate_min, double coordinate_max);

// "horizontal" reflects x (c' = 1 − c, min' = 1 − max, max' = 1 − min); any other mode reflects y
// (reference: so "h" and "v" both flip y).
torch::Tensor SymmetryFlipped(const torch::Tensor& features, const torch::Tensor& mask,
                              const std::string& mode);

// The reference's draws, one call each for context and for target (separate draws):
// colour: randperm(palette_size) for the colours, then randperm(slots) for the histogram slots.
struct ColorDraws {
  torch::Tensor color_perm;
  torch::Tensor slot_perm;
};
ColorDraws DrawColor(int64_t palette_size, int64_t slots,
                     c10::optional<at::Generator> generator = c10::nullopt);
// translation: rand(features.shape[:-1]) for dy, then for dx.
struct TranslationDraws {
  torch::Tensor uniform_dy;
  torch::Tensor uniform_dx;
};
TranslationDraws DrawTranslation(const torch::Tensor& features,
                                 c10::optional<at::Generator> generator = c10::nullopt);
// symmetry: randint(0, modes) for the mode index.
int64_t DrawSymmetryMode(int64_t num_modes, c10::optional<at::Generator> generator = c10::nullopt);

// Σ_terms w_t · (MSE(ctx_aug_t, ctx_ref) + MSE(tgt_aug_t, tgt_ref)) over the enabled terms.
struct InvarianceTerm {
  double weight = 0;
  torch::Tensor context_repr;  // [B, H] re-encoded augmented context
  torch::Tensor target_repr;   // [B, H]
};
torch::Tensor InvarianceLoss(const torch::Tensor& context_ref, const torch::Tensor& target_ref,
                             const std::vector<InvarianceTerm>& terms);

}  // namespace jepalab::trainer

#endif  // JEPALAB_TRAINER_SERVICE_CORE_LOSSES_INVARIANCE_H_
