#include "cli/report_builder.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

void AddSeries(metrics::v1::GetRunHistoryResponse* history, const std::string& name, int n) {
  metrics::v1::Series* series = history->add_series();
  series->set_name(name);
  for (int i = 0; i < n; ++i) {
    metrics::v1::SeriesPoint* p = series->add_points();
    p->set_step(i * 10);
    p->set_value(1.0 + i);
  }
}

metrics::v1::DetectorStatus Detector(const std::string& indicator, const std::string& encoder,
                                     int64_t step) {
  metrics::v1::DetectorStatus d;
  d.set_indicator(indicator);
  d.set_encoder(encoder);
  d.set_first_collapse_step(step);
  return d;
}

TEST(ReportBuilderTest, PlanRunNamesAddTheSeedOnlyWithSeveralSeeds) {
  scheduler::v1::Plan plan;
  auto* one = plan.add_runs();
  one->set_name("baseline");
  one->add_run_ids("p-0001.baseline-0001-s1");
  auto* two = plan.add_runs();
  two->set_name("no_vq");
  two->add_run_ids("p-0001.no_vq-0002-s1");
  two->add_run_ids("p-0001.no_vq-0002-s2");
  EXPECT_THAT(PlanRunNames(plan), ElementsAre(Pair("baseline", "p-0001.baseline-0001-s1"),
                                              Pair("no_vq/s1", "p-0001.no_vq-0002-s1"),
                                              Pair("no_vq/s2", "p-0001.no_vq-0002-s2")));
}

TEST(ReportBuilderTest, ChartsEveryMetricPerRunAndMarksEarliestCollapse) {
  ReportRunData a{"a", {}, {}};
  AddSeries(&a.history, "loss/total", 5);
  AddSeries(&a.history, "val/loss", 2);
  AddSeries(&a.history, "diagnostics/context/rankme", 3);
  AddSeries(&a.history, "diagnostics/context/effective_rank", 3);
  AddSeries(&a.history, "diagnostics/target/rankme", 3);  // not charted
  *a.collapse.add_detectors() = Detector("embedding_rank", "context", 400);
  *a.collapse.add_detectors() = Detector("codebook_usage", "", 200);
  *a.collapse.add_detectors() = Detector("loss_plateau", "", -1);
  ReportRunData b{"b", {}, {}};  // never reported
  scheduler::v1::Plan plan;
  plan.set_conclusion("VQ is the cause");
  plan.set_table("| run |\n|---|\n| a |\n");

  const ReportInput input = BuildReportInput("plan p", "SUCCEEDED", &plan, {a, b});
  EXPECT_TRUE(input.has_verdict);
  EXPECT_EQ(input.conclusion, "VQ is the cause");
  EXPECT_THAT(input.runs, ElementsAre("a", "b"));
  ASSERT_EQ(input.charts.size(), 5u);
  EXPECT_EQ(input.charts[0].title, "Training loss");
  ASSERT_EQ(input.charts[0].series.size(), 1u);
  EXPECT_EQ(input.charts[0].series[0].points.size(), 5u);
  EXPECT_TRUE(input.charts[2].series.empty());  // codebook usage: none reported
  ASSERT_EQ(input.charts[3].series.size(), 2u);
  EXPECT_EQ(input.charts[3].series[0].variant, "rankme");
  EXPECT_EQ(input.charts[3].series[1].variant, "reference");
  EXPECT_EQ(input.charts[4].scale, ReportScale::kAuto);
  for (const ReportChart& chart : input.charts) {
    ASSERT_EQ(chart.markers.size(), 1u);
    EXPECT_EQ(chart.markers[0].run, "a");
    EXPECT_EQ(chart.markers[0].step, 200);
    EXPECT_EQ(chart.markers[0].label, "codebook_usage");
  }
}

TEST(ReportBuilderTest, NoVerdictWithoutPlanOrConclusion) {
  EXPECT_FALSE(BuildReportInput("experiment x", "", nullptr, {}).has_verdict);
  scheduler::v1::Plan running;
  EXPECT_FALSE(BuildReportInput("plan p", "RUNNING", &running, {}).has_verdict);
}

}  // namespace
}  // namespace jepalab::cli
