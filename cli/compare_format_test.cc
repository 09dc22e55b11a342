#include "cli/compare_format.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace met = ::jepalab::metrics::v1;

met::RunComparison* AddRun(met::CompareRunsResponse& response, const std::string& id,
                           const std::string& config_yaml, double last_loss) {
  met::RunComparison* run = response.add_runs();
  run->mutable_run()->set_run_id(id);
  run->mutable_run()->set_config_yaml(config_yaml);
  met::MetricSummary* loss = run->add_metrics();
  loss->set_name("val/loss");
  loss->set_last(last_loss);
  loss->set_min(last_loss - 0.1);
  loss->set_max(last_loss + 1);
  loss->set_last_step(100);
  return run;
}

TEST(FormatComparisonTest, MetricsSideBySideThenOnlyTheDifferingConfigKeys) {
  met::CompareRunsResponse response;
  met::RunComparison* base =
      AddRun(response, "vq.baseline-0001-s1",
             "seed: 1\nobject_encoder:\n  commitment_cost: 0.3\n  codes: 64\n", 1.5);
  base->set_first_collapse_step(19);
  met::RunComparison* commit =
      AddRun(response, "vq.commit-0002-s1",
             "seed: 1\nobject_encoder:\n  commitment_cost: 0.15\n  codes: 64\n", 1.25);
  commit->set_first_collapse_step(-1);
  // A metric with a direction (best/worst) that only the second run has.
  met::MetricSummary* rank = commit->add_metrics();
  rank->set_name("diagnostics/embedding/context/rankme");
  rank->set_last(4.5);
  rank->set_better("higher");
  rank->set_best(6.25);
  rank->set_best_step(10);
  rank->set_worst(1.5);
  rank->set_worst_step(60);
  const std::string text = FormatComparison(response);
  EXPECT_EQ(text,
            "METRIC                                        vq.baseline-0001-s1  vq.commit-0002-s1\n"
            "val/loss                              final   1.5                  1.25\n"
            "                                      min     1.4 @0               1.15 @0\n"
            "                                      max     2.5 @0               2.25 @0\n"
            "diagnostics/embedding/context/rankme  final   -                    4.5\n"
            "                                      best    -                    6.25 @10\n"
            "                                      worst   -                    1.5 @60\n"
            "first collapse                                step 19              none\n"
            "\n"
            "config diff: 1 key differs (2 equal keys not shown)\n"
            "KEY                             vq.baseline-0001-s1  vq.commit-0002-s1\n"
            "object_encoder.commitment_cost  0.3                  0.15\n");
}

TEST(FormatComparisonTest, IdenticalConfigsAreSaidSo) {
  met::CompareRunsResponse response;
  AddRun(response, "a", "seed: 1\nlr: 0.1\n", 1);
  AddRun(response, "b", "seed: 1\nlr: 0.1\n", 2);
  EXPECT_EQ(FormatComparisonConfigDiff(response),
            "config diff: the resolved configs are identical (2 keys)\n");
}

TEST(FormatComparisonTest, RunsWithoutConfigAreLeftOutAndNamed) {
  met::CompareRunsResponse response;
  AddRun(response, "a", "seed: 1\n", 1);
  AddRun(response, "b", "", 2);
  AddRun(response, "c", "seed: 2\n", 2);
  AddRun(response, "d", "seed: [1\n", 2);
  const std::string text = FormatComparisonConfigDiff(response);
  EXPECT_THAT(text, HasSubstr("config diff: run b has no recorded config (left out)\n"));
  EXPECT_THAT(text, HasSubstr("config diff: run d: config: malformed YAML"));
  EXPECT_THAT(text, HasSubstr("seed  1  2\n"));
  EXPECT_THAT(text, Not(HasSubstr("<unset>")));
}

TEST(FormatComparisonTest, OneRunHasNothingToDiff) {
  met::CompareRunsResponse response;
  AddRun(response, "a", "seed: 1\n", 1);
  EXPECT_THAT(FormatComparisonConfigDiff(response), HasSubstr("needs two runs"));
}

}  // namespace
}  // namespace jepalab::cli
