#include "config/plan_criteria.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace jepalab::config {
namespace {

using ::jepalab::config::v1::PlanCriteria;

std::string Num(double value) { return absl::StrFormat("%.4g", value); }

// A threshold t on a statistic in [low, high], checked as "value >= t": it cannot fail when
// t <= low and cannot pass when t > high.
absl::Status CheckRange(const std::string& field, double threshold, absl::string_view stat,
                        double low, absl::string_view low_text, double high,
                        absl::string_view high_text, const std::string& run_name, int64_t d) {
  const std::string where = absl::StrCat(" for run \"", run_name, "\" (projection_dim ", d, ")");
  if (threshold <= low) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", Num(threshold), " cannot fail: ",
                                                   stat, " >= ", low_text, " = ", Num(low), where));
  }
  if (threshold > high) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", Num(threshold),
                                                   " cannot pass: ", stat, " <= ", high_text, " = ",
                                                   Num(high), where));
  }
  return absl::OkStatus();
}

}  // namespace

int64_t DiagnosticsDimension(const ::jepalab::config::v1::TrainerConfig& config) {
  return config.loss().projection_dim();
}

absl::Status CheckCriteriaAttainable(const PlanCriteria& criteria, const std::string& field,
                                     const std::string& run_name, int64_t d) {
  const double dim = static_cast<double>(d);
  if (criteria.has_min_rankme()) {
    if (absl::Status s = CheckRange(absl::StrCat(field, ".min_rankme"), criteria.min_rankme(),
                                    "rankme", 1, "1", dim, "d", run_name, d);
        !s.ok()) {
      return s;
    }
  }
  if (criteria.has_min_isotropy_robust()) {
    if (absl::Status s =
            CheckRange(absl::StrCat(field, ".min_isotropy_robust"), criteria.min_isotropy_robust(),
                       "isotropy_robust", 1 / dim, "1/d", 1, "1", run_name, d);
        !s.ok()) {
      return s;
    }
  }
  if (criteria.has_min_participation_ratio()) {
    if (absl::Status s = CheckRange(
            absl::StrCat(field, ".min_participation_ratio"), criteria.min_participation_ratio(),
            "participation ratio d x isotropy_robust", 1, "1", dim, "d", run_name, d);
        !s.ok()) {
      return s;
    }
  }
  if (criteria.has_min_rankme_fraction_of_early()) {
    // The early value E is in [1, d] and RankMe >= 1, so f x E <= 1 whenever f <= 1/d; the
    // minimum is taken over points that include the early window, so min/E <= 1 (checked in
    // ValidatePlan).
    if (absl::Status s = CheckRange(absl::StrCat(field, ".min_rankme_fraction_of_early"),
                                    criteria.min_rankme_fraction_of_early(),
                                    "rankme / early rankme", 1 / dim, "1/d", 1, "1", run_name, d);
        !s.ok()) {
      return s;
    }
  }
  if (criteria.has_min_rankme_fraction_of_reference()) {
    // Both minima are in [1, d]: f x reference <= 1 whenever f <= 1/d, > d whenever f > d.
    if (absl::Status s =
            CheckRange(absl::StrCat(field, ".min_rankme_fraction_of_reference"),
                       criteria.min_rankme_fraction_of_reference(), "rankme / reference rankme",
                       1 / dim, "1/d", dim, "d", run_name, d);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace jepalab::config
