// Whether a plan's diagnostics criteria can both pass and fail: each statistic has an attainable
// range that depends on the run's projection dimension d (RankMe and the participation ratio in
// [1, d], isotropy_robust in [1/d, 1]). A threshold outside it decides nothing, so a plan that
// sets one is refused, naming the field, the bound and the run.
#ifndef JEPALAB_CONFIG_PLAN_CRITERIA_H_
#define JEPALAB_CONFIG_PLAN_CRITERIA_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "proto/config/plan_config.pb.h"
#include "proto/config/trainer_config.pb.h"

namespace jepalab::config {

// The dimension the diagnostics are computed on: the projection head's width, which the model
// takes from loss.projection_dim (trainer_service/core/model/jepa_model.cc).
int64_t DiagnosticsDimension(const ::jepalab::config::v1::TrainerConfig& config);

// InvalidArgument "<field>.min_isotropy_robust: 0.001 cannot fail: isotropy_robust >= 1/d =
// 0.0039 for run "baseline" (projection_dim 256)" for the first threshold of `criteria` that
// cannot fail or cannot pass at dimension `d`.
absl::Status CheckCriteriaAttainable(const ::jepalab::config::v1::PlanCriteria& criteria,
                                     const std::string& field, const std::string& run_name,
                                     int64_t d);

}  // namespace jepalab::config

#endif  // JEPALAB_CONFIG_PLAN_CRITERIA_H_
