// The runs area (submit, list, status, watch, cancel, metrics) and `health` in process, through
// RunJepalab against fake services: what each command sends, prints and exits with.
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "cli/fake_services.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace sched = ::jepalab::scheduler::v1;

sched::Experiment MakeExperiment(sched::ExperimentState state) {
  sched::Experiment x;
  x.set_id("mini-0001");
  x.set_state(state);
  x.set_config_hash("0123456789abcdef");
  x.add_overrides("optimizer.lr=1e-4");
  sched::RunRecord* run = x.add_runs();
  run->set_run_id("mini-0001-s1");
  run->set_seed(1);
  run->set_trainer("127.0.0.1:50052");
  run->set_state(state == sched::EXPERIMENT_STATE_SUCCEEDED ? common::v1::RUN_STATE_SUCCEEDED
                                                            : common::v1::RUN_STATE_RUNNING);
  run->set_attempts(1);
  // Never dispatched: no metrics to ask metrics_service for.
  sched::RunRecord* queued = x.add_runs();
  queued->set_run_id("mini-0001-s2");
  queued->set_seed(2);
  queued->set_state(common::v1::RUN_STATE_QUEUED);
  return x;
}

// What metrics_service knows of mini-0001-s1: its latest loss/total and lr.
metrics::v1::RunComparison LatestOfRunOne() {
  metrics::v1::RunComparison run;
  run.mutable_run()->set_run_id("mini-0001-s1");
  metrics::v1::MetricSummary* loss = run.add_metrics();
  loss->set_name("loss/total");
  loss->set_count(3);
  loss->set_first(2.0);
  loss->set_last(0.5);
  loss->set_last_step(30);
  metrics::v1::MetricSummary* lr = run.add_metrics();
  lr->set_name("lr");
  lr->set_count(3);
  lr->set_last(1e-4);
  lr->set_last_step(30);
  return run;
}

class RunCommandsTest : public ::testing::Test {
 protected:
  RunCommandsTest() : server_({&scheduler_, &metrics_, &health_}) {
    scheduler_.experiment = MakeExperiment(sched::EXPERIMENT_STATE_RUNNING);
    *metrics_.comparison.add_runs() = LatestOfRunOne();
  }

  CliResult Run(const std::vector<std::string>& args) { return RunCli(args, server_.address()); }

  // A config file in the test's scratch directory.
  static std::string ConfigFile() {
    const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/config.yaml";
    std::ofstream(path) << "seed: 1\n";
    return path;
  }

  FakeScheduler scheduler_;
  FakeMetrics metrics_;
  FakeHealth health_;
  LocalServer server_;
};

TEST_F(RunCommandsTest, SubmitSendsTheConfigAndItsFlags) {
  const std::string config = ConfigFile();
  const CliResult r =
      Run({"submit", config, "--name", "mini", "--set", "a.b=1", "--set=c=[1,2]", "--seed", "1",
           "--seed=2", "--tag", "t", "--priority", "5", "--stop_on_collapse"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "submitted mini-0001 (2 runs)\n  run mini-0001-s1\n  run mini-0001-s2\n");
  const sched::SubmitExperimentRequest sent = scheduler_.submitted_experiment();
  EXPECT_EQ(sent.name(), "mini");
  EXPECT_EQ(sent.config_yaml(), "seed: 1\n");
  EXPECT_EQ(sent.config_path(), config);
  EXPECT_THAT(sent.overrides(), ElementsAre("a.b=1", "c=[1,2]"));
  EXPECT_THAT(sent.seeds(), ElementsAre(1, 2));
  EXPECT_THAT(sent.tags(), ElementsAre("t"));
  EXPECT_EQ(sent.priority(), 5);
  EXPECT_TRUE(sent.stop_on_collapse().enabled());
}

TEST_F(RunCommandsTest, SubmitRefusesBadInputBeforeAnyRpc) {
  const CliResult seed = Run({"submit", ConfigFile(), "--seed", "one"});
  EXPECT_EQ(seed.code, 2);
  EXPECT_EQ(seed.err, "jepalab: --seed: expected an integer, got \"one\"\n");
  const CliResult priority = Run({"submit", ConfigFile(), "--priority=high"});
  EXPECT_EQ(priority.code, 2);
  EXPECT_THAT(priority.err, HasSubstr("--priority: expected an integer"));
  const CliResult missing = Run({"submit", "/nonexistent.yaml"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "jepalab: cannot read config file /nonexistent.yaml\n");
  EXPECT_THAT(scheduler_.calls(), IsEmpty());
}

TEST_F(RunCommandsTest, SubmitWatchFollowsTheExperiment) {
  scheduler_.watch_events = {MakeExperiment(sched::EXPERIMENT_STATE_RUNNING),
                             MakeExperiment(sched::EXPERIMENT_STATE_SUCCEEDED)};
  const CliResult r = Run({"submit", ConfigFile(), "--watch"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("experiment mini-0001 finished: SUCCEEDED\n"));
  EXPECT_THAT(scheduler_.calls(), ElementsAre("SubmitExperiment ", "WatchExperiment mini-0001"));
}

TEST_F(RunCommandsTest, WatchLinesTakeTheLossFromMetricsService) {
  scheduler_.watch_events = {MakeExperiment(sched::EXPERIMENT_STATE_RUNNING),
                             MakeExperiment(sched::EXPERIMENT_STATE_SUCCEEDED)};
  const CliResult r = Run({"watch", "mini-0001"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(
      r.out, ::testing::ContainsRegex("mini-0001-s1 +RUNNING +step 0/0  loss 0.5000  ETA --:--\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("mini-0001-s1 +SUCCEEDED +step 0/0  loss 0.5000\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("mini-0001-s2 +QUEUED +step 0/0\n"));
  EXPECT_THAT(r.err, IsEmpty());
  // One poll per event whose lines changed, for loss/total of the dispatched run only.
  EXPECT_THAT(metrics_.calls(),
              ElementsAre("CompareRuns mini-0001-s1", "CompareRuns mini-0001-s1"));
  EXPECT_THAT(metrics_.compare_requests()[0].names(), ElementsAre("loss/total"));
}

TEST_F(RunCommandsTest, WatchWithoutMetricsServiceNotesItOnceAndGoesOn) {
  metrics_.compare_error = grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
  scheduler_.watch_events = {MakeExperiment(sched::EXPERIMENT_STATE_RUNNING),
                             MakeExperiment(sched::EXPERIMENT_STATE_SUCCEEDED)};
  const CliResult r = Run({"watch", "mini-0001"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("mini-0001-s1 +SUCCEEDED +step 0/0\n"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("loss")));
  EXPECT_THAT(
      r.err, ::testing::MatchesRegex("jepalab: note: latest metrics not shown: metrics CompareRuns "
                                     "\\(127.0.0.1:[0-9]+\\): UNAVAILABLE: connection refused\n"));
  EXPECT_THAT(metrics_.calls(), ElementsAre("CompareRuns mini-0001-s1"));  // not asked again
}

TEST_F(RunCommandsTest, WatchExitsOneUnlessTheExperimentSucceeded) {
  scheduler_.watch_events = {MakeExperiment(sched::EXPERIMENT_STATE_FAILED)};
  const CliResult r = Run({"watch", "mini-0001"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("experiment mini-0001 finished: FAILED\n"));
  EXPECT_THAT(r.err, IsEmpty());  // the output says it all
}

TEST_F(RunCommandsTest, ListAndStatus) {
  scheduler_.experiments = {scheduler_.experiment};
  const CliResult list = Run({"list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("EXPERIMENT"));
  EXPECT_THAT(list.out, ::testing::ContainsRegex("mini-0001 +RUNNING +2  0123456789ab\n"));
  const CliResult status = Run({"status", "mini-0001"});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out,
              HasSubstr("experiment mini-0001  RUNNING\n  config hash 0123456789ab  overrides: "
                        "optimizer.lr=1e-4\n"));
  EXPECT_THAT(status.out, HasSubstr("loss 0.5000  ETA --:--  @127.0.0.1:50052\n"));
  // Latest metrics from metrics_service (their owner), asked for the dispatched run only.
  EXPECT_THAT(status.out, HasSubstr("  mini-0001-s1 latest: loss/total=0.5 lr=0.0001\n"));
  EXPECT_THAT(status.out, ::testing::Not(HasSubstr("mini-0001-s2 latest")));
  EXPECT_THAT(status.err, IsEmpty());
  EXPECT_THAT(metrics_.calls(), ElementsAre("CompareRuns mini-0001-s1"));
  EXPECT_THAT(metrics_.compare_requests()[0].names(), IsEmpty());
}

TEST_F(RunCommandsTest, StatusOfARunMetricsServiceDoesNotKnowYet) {
  metrics_.comparison.clear_runs();  // NOT_FOUND, as for a run that has not reported
  const CliResult r = Run({"status", "mini-0001"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("experiment mini-0001  RUNNING\n"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("latest:")));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("loss")));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(RunCommandsTest, StatusWithoutMetricsServicePrintsTheSchedulersPartAndANote) {
  metrics_.compare_error = grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
  const CliResult r = Run({"status", "mini-0001"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("experiment mini-0001  RUNNING\n"));
  EXPECT_THAT(r.out, HasSubstr("  @127.0.0.1:50052\n"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("latest:")));
  // One line naming the metrics address (no second "is the service running?" line).
  EXPECT_THAT(
      r.err, ::testing::MatchesRegex("jepalab: note: latest metrics not shown: metrics CompareRuns "
                                     "\\(127.0.0.1:[0-9]+\\): UNAVAILABLE: connection refused\n"));
}

TEST_F(RunCommandsTest, StatusOfAnUnknownExperimentReportsTheRpc) {
  const CliResult r = Run({"status", "nope-0001"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("jepalab: scheduler GetExperiment (127.0.0.1:"));
  EXPECT_THAT(r.err, HasSubstr("): NOT_FOUND: experiment \"nope-0001\" not found\n"));
}

TEST_F(RunCommandsTest, Cancel) {
  const CliResult r = Run({"cancel", "mini-0001"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "cancel requested: mini-0001 RUNNING\n");
}

TEST_F(RunCommandsTest, MetricsCsvAndSummary) {
  metrics::v1::Series* series = metrics_.history.add_series();
  series->set_name("loss/total");
  for (int step = 1; step <= 3; ++step) {
    metrics::v1::SeriesPoint* p = series->add_points();
    p->set_step(step);
    p->set_epoch(1);
    p->set_value(4.0 - step);
  }
  const CliResult csv =
      Run({"metrics", "mini-0001-s1", "--name", "loss/total", "--max_points", "2"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(
      csv.out,
      "run,name,step,epoch,value\nmini-0001-s1,loss/total,1,1,3\nmini-0001-s1,loss/total,2,1,2\n"
      "mini-0001-s1,loss/total,3,1,1\n");
  EXPECT_THAT(metrics_.history_request().names(), ElementsAre("loss/total"));
  EXPECT_EQ(metrics_.history_request().max_points(), 2);
  const CliResult summary = Run({"metrics", "mini-0001-s1", "--summary"});
  ASSERT_EQ(summary.code, 0) << summary.err;
  EXPECT_THAT(summary.out, ::testing::ContainsRegex("loss/total +3 +3 +1 +1\n"));
  EXPECT_EQ(Run({"metrics", "mini-0001-s1", "--max_points=-1"}).code, 2);
}

TEST_F(RunCommandsTest, HealthOfTheThreeServices) {
  const CliResult up = Run({"health"});
  EXPECT_EQ(up.code, 0) << up.err;
  EXPECT_THAT(up.out, ::testing::ContainsRegex("scheduler +127.0.0.1:[0-9]+ +SERVING\n"));
  EXPECT_THAT(up.out, HasSubstr("metrics "));
  health_.serving = false;
  const CliResult down = Run({"health", "--wait=0"});
  EXPECT_EQ(down.code, 1);
  EXPECT_THAT(down.err, ::testing::ContainsRegex("trainer +127.0.0.1:[0-9]+ +NOT_SERVING\n"));
}

}  // namespace
}  // namespace jepalab::cli
