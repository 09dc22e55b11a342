#include "config/collapse_detectors_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/metric_names.h"
#include "common/status_macros.h"

namespace jepalab::config {
namespace {

namespace names = ::jepalab::metric_names;
using v1::CollapseDetectorsConfig;

absl::Status Invalid(absl::string_view field, absl::string_view problem, double value) {
  return absl::InvalidArgumentError(
      absl::StrCat("collapse_detectors.", field, ": ", problem, ", got ", value));
}

absl::Status CheckFinite(absl::string_view field, double value) {
  if (!std::isfinite(value)) return Invalid(field, "must be finite", value);
  return absl::OkStatus();
}

absl::Status CheckBand(absl::string_view section, double collapsed_below, double healthy_above) {
  JEPALAB_RETURN_IF_ERROR(CheckFinite(absl::StrCat(section, ".collapsed_below"), collapsed_below));
  JEPALAB_RETURN_IF_ERROR(CheckFinite(absl::StrCat(section, ".healthy_above"), healthy_above));
  if (collapsed_below <= 0) {
    return Invalid(absl::StrCat(section, ".collapsed_below"), "must be > 0", collapsed_below);
  }
  if (healthy_above < collapsed_below) {
    return Invalid(absl::StrCat(section, ".healthy_above"),
                   absl::StrCat("must be >= collapsed_below (", collapsed_below, ")"),
                   healthy_above);
  }
  return absl::OkStatus();
}

// The largest projection dimension a run config allows (config/trainer_config.cc), and so the
// smallest isotropy_robust (1/d) any run can report.
constexpr int kMaxProjectionDim = 65536;
constexpr double kMinIsotropyRobust = 1.0 / kMaxProjectionDim;

}  // namespace

absl::Status ValidateCollapseDetectorsConfig(const CollapseDetectorsConfig& config) {
  const auto& rank = config.rank();
  if (rank.stat() != names::kStatRankMe && rank.stat() != names::kStatEffectiveRank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "collapse_detectors.rank.stat: must be \"rankme\" or \"effective_rank\", got \"",
        rank.stat(), "\""));
  }
  JEPALAB_RETURN_IF_ERROR(CheckBand("rank", rank.collapsed_below(), rank.healthy_above()));
  // Both rank stats are effective numbers of dimensions, >= 1.
  if (rank.collapsed_below() <= 1) {
    return Invalid("rank.collapsed_below", "cannot fire: the rank is >= 1", rank.collapsed_below());
  }

  const auto& isotropy = config.isotropy();
  if (isotropy.stat() != names::kStatIsotropyRobust && isotropy.stat() != names::kStatIsotropy) {
    return absl::InvalidArgumentError(absl::StrCat(
        "collapse_detectors.isotropy.stat: must be \"isotropy_robust\" or \"isotropy\", got \"",
        isotropy.stat(), "\""));
  }
  JEPALAB_RETURN_IF_ERROR(
      CheckBand("isotropy", isotropy.collapsed_below(), isotropy.healthy_above()));
  if (isotropy.relative_to_early()) {
    const double collapsed = isotropy.collapsed_fraction_of_early();
    const double healthy = isotropy.healthy_fraction_of_early();
    // A ratio to the first value: it is 1 at the first point, so fractions are in (0, 1].
    if (!(collapsed > 0 && collapsed <= 1)) {
      return Invalid("isotropy.collapsed_fraction_of_early", "must be in (0, 1]", collapsed);
    }
    if (!(healthy >= collapsed && healthy <= 1)) {
      return Invalid("isotropy.healthy_fraction_of_early",
                     absl::StrCat("must be in [collapsed_fraction_of_early (", collapsed, "), 1]"),
                     healthy);
    }
  } else if (isotropy.stat() == names::kStatIsotropyRobust &&
             isotropy.collapsed_below() <= kMinIsotropyRobust) {
    return Invalid(
        "isotropy.collapsed_below",
        absl::StrCat("cannot fire for any run: isotropy_robust >= 1/d >= 1/", kMaxProjectionDim),
        isotropy.collapsed_below());
  }

  const auto& usage = config.codebook_usage();
  JEPALAB_RETURN_IF_ERROR(CheckFinite("codebook_usage.collapsed_below", usage.collapsed_below()));
  JEPALAB_RETURN_IF_ERROR(CheckFinite("codebook_usage.warning_below", usage.warning_below()));
  JEPALAB_RETURN_IF_ERROR(CheckFinite("codebook_usage.falling_fraction", usage.falling_fraction()));
  if (usage.collapsed_below() < 0 || usage.collapsed_below() > 1) {
    return Invalid("codebook_usage.collapsed_below", "must be in [0, 1]", usage.collapsed_below());
  }
  if (usage.warning_below() < usage.collapsed_below() || usage.warning_below() > 1) {
    return Invalid("codebook_usage.warning_below",
                   absl::StrCat("must be in [collapsed_below (", usage.collapsed_below(), "), 1]"),
                   usage.warning_below());
  }
  if (usage.falling_fraction() < 0 || usage.falling_fraction() > 1) {
    return Invalid("codebook_usage.falling_fraction", "must be in [0, 1]",
                   usage.falling_fraction());
  }

  const auto& spike = config.validation_spike();
  JEPALAB_RETURN_IF_ERROR(CheckFinite("validation_spike.warning_ratio", spike.warning_ratio()));
  JEPALAB_RETURN_IF_ERROR(CheckFinite("validation_spike.collapsed_ratio", spike.collapsed_ratio()));
  if (spike.warning_ratio() <= 1) {
    return Invalid("validation_spike.warning_ratio", "must be > 1", spike.warning_ratio());
  }
  if (spike.collapsed_ratio() < spike.warning_ratio()) {
    return Invalid("validation_spike.collapsed_ratio",
                   absl::StrCat("must be >= warning_ratio (", spike.warning_ratio(), ")"),
                   spike.collapsed_ratio());
  }

  const auto& plateau = config.loss_plateau();
  if (plateau.metric().empty()) {
    return absl::InvalidArgumentError("collapse_detectors.loss_plateau.metric: must not be empty");
  }
  if (plateau.window_steps() <= 0) {
    return Invalid("loss_plateau.window_steps", "must be > 0",
                   static_cast<double>(plateau.window_steps()));
  }
  JEPALAB_RETURN_IF_ERROR(
      CheckFinite("loss_plateau.min_relative_improvement", plateau.min_relative_improvement()));
  JEPALAB_RETURN_IF_ERROR(CheckFinite("loss_plateau.rise_ratio", plateau.rise_ratio()));
  if (plateau.min_relative_improvement() < 0 || plateau.min_relative_improvement() >= 1) {
    return Invalid("loss_plateau.min_relative_improvement", "must be in [0, 1)",
                   plateau.min_relative_improvement());
  }
  if (plateau.rise_ratio() <= 1) {
    return Invalid("loss_plateau.rise_ratio", "must be > 1", plateau.rise_ratio());
  }

  const auto& divergence = config.divergence();
  JEPALAB_RETURN_IF_ERROR(CheckFinite("divergence.max_loss", divergence.max_loss()));
  JEPALAB_RETURN_IF_ERROR(CheckFinite("divergence.max_grad_norm", divergence.max_grad_norm()));
  if (divergence.max_loss() <= 0) {
    return Invalid("divergence.max_loss", "must be > 0", divergence.max_loss());
  }
  if (divergence.max_grad_norm() <= 0) {
    return Invalid("divergence.max_grad_norm", "must be > 0", divergence.max_grad_norm());
  }
  return absl::OkStatus();
}

}  // namespace jepalab::config
