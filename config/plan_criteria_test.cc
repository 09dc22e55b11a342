#include "config/plan_criteria.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::config {
namespace {

using ::jepalab::config::v1::PlanCriteria;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

TEST(CheckCriteriaAttainable, IsotropyRobustAtOrBelowOneOverDCannotFail) {
  PlanCriteria criteria;
  criteria.set_min_isotropy_robust(0.001);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "baseline", 256),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.min_isotropy_robust: 0.001 cannot fail: "
                                 "isotropy_robust >= 1/d = 0.003906 for run \"baseline\" "
                                 "(projection_dim 256)")));
  criteria.set_min_isotropy_robust(1.5);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "baseline", 256),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1.5 cannot pass")));
  criteria.set_min_isotropy_robust(0.01);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "baseline", 256), IsOk());
  // The same threshold cannot fail at a smaller d.
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "mini", 32),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1/d = 0.03125")));
}

TEST(CheckCriteriaAttainable, RankMeOutsideOneToD) {
  PlanCriteria criteria;
  criteria.set_min_rankme(1.0);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 32),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.min_rankme: 1 cannot fail: rankme >= 1")));
  criteria.set_min_rankme(5.0);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 4),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("5 cannot pass: rankme <= d = 4 for run \"r\"")));
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 32), IsOk());
}

TEST(CheckCriteriaAttainable, ParticipationRatioAndEarlyFraction) {
  PlanCriteria criteria;
  criteria.set_min_participation_ratio(2);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 2), IsOk());
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("criteria.min_participation_ratio: 2 cannot pass")));
  criteria.clear_min_participation_ratio();
  criteria.set_min_rankme_fraction_of_early(0.01);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 32),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("min_rankme_fraction_of_early: 0.01 cannot fail")));
  criteria.set_min_rankme_fraction_of_early(0.5);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 32), IsOk());
}

TEST(CheckCriteriaAttainable, RankMeFractionOfReference) {
  PlanCriteria criteria;
  criteria.set_min_rankme_fraction_of_reference(0.5);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 32), IsOk());
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 2),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("min_rankme_fraction_of_reference: 0.5 cannot fail")));
  criteria.set_min_rankme_fraction_of_reference(64);
  EXPECT_THAT(CheckCriteriaAttainable(criteria, "criteria", "r", 32),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64 cannot pass")));
}

TEST(CheckCriteriaAttainable, UnsetCriteriaAreNotChecked) {
  EXPECT_THAT(CheckCriteriaAttainable(PlanCriteria(), "criteria", "r", 1), IsOk());
}

}  // namespace
}  // namespace jepalab::config
