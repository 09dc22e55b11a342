#include "metrics_service/core/run_store.h"

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/common.pb.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::StatusIs;
using ::testing::UnorderedElementsAre;

// A fresh database file per test under Bazel's TEST_TMPDIR.
std::string FreshDbPath() {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path =
      absl::StrCat(dir != nullptr ? dir : "/tmp", "/",
                   ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

v1::MetricPoint Point(const std::string& run_id, const std::string& name, int64_t step,
                      double value, int32_t epoch = 1, int64_t unix_ms = 0) {
  v1::MetricPoint point;
  point.set_run_id(run_id);
  point.set_name(name);
  point.set_step(step);
  point.set_value(value);
  point.set_epoch(epoch);
  point.set_unix_ms(unix_ms);
  return point;
}

MetricPoints Points(std::initializer_list<v1::MetricPoint> points) {
  MetricPoints out;
  for (const v1::MetricPoint& point : points) *out.Add() = point;
  return out;
}

v1::RunInfo MakeRun(const std::string& run_id, const std::string& experiment) {
  v1::RunInfo run;
  run.set_run_id(run_id);
  run.set_experiment(experiment);
  run.set_config_yaml("optimizer:\n  lr: 0.001\n");
  run.set_config_hash("abc123");
  (*run.mutable_labels())["seed"] = "7";
  (*run.mutable_labels())["variant"] = "sigreg";
  run.set_state(common::v1::RUN_STATE_RUNNING);
  run.set_message("started");
  run.set_created_unix_ms(1000);
  run.set_updated_unix_ms(2000);
  return run;
}

std::vector<int64_t> Steps(const v1::Series& series) {
  std::vector<int64_t> steps;
  for (const v1::SeriesPoint& point : series.points()) steps.push_back(point.step());
  return steps;
}

std::vector<double> Values(const v1::Series& series) {
  std::vector<double> values;
  for (const v1::SeriesPoint& point : series.points()) values.push_back(point.value());
  return values;
}

TEST(SqliteRunStoreTest, RunMetadataRoundTrips) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(FreshDbPath()));
  ASSERT_THAT(store->PutRun(MakeRun("exp-s1", "exp")), IsOk());

  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::RunInfo run, store->GetRun("exp-s1"));
  EXPECT_EQ(run.experiment(), "exp");
  EXPECT_EQ(run.config_yaml(), "optimizer:\n  lr: 0.001\n");
  EXPECT_EQ(run.config_hash(), "abc123");
  EXPECT_THAT(run.labels(), UnorderedElementsAre(Pair("seed", "7"), Pair("variant", "sigreg")));
  EXPECT_EQ(run.state(), common::v1::RUN_STATE_RUNNING);
  EXPECT_EQ(run.message(), "started");
  EXPECT_EQ(run.created_unix_ms(), 1000);
  EXPECT_EQ(run.updated_unix_ms(), 2000);
  EXPECT_EQ(run.num_points(), 0);

  // A second put replaces metadata and labels.
  v1::RunInfo changed = MakeRun("exp-s1", "exp");
  changed.mutable_labels()->erase("variant");
  changed.set_state(common::v1::RUN_STATE_SUCCEEDED);
  ASSERT_THAT(store->PutRun(changed), IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(run, store->GetRun("exp-s1"));
  EXPECT_EQ(run.state(), common::v1::RUN_STATE_SUCCEEDED);
  EXPECT_THAT(run.labels(), UnorderedElementsAre(Pair("seed", "7")));
}

TEST(SqliteRunStoreTest, UnknownRunIsNotFound) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(FreshDbPath()));
  EXPECT_THAT(store->GetRun("nope"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
}

TEST(SqliteRunStoreTest, PointsCreateMinimalRunAndCountInListRuns) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(FreshDbPath()));
  ASSERT_THAT(
      store->WritePoints(Points({Point("r1", "loss/total", 0, 2.0, 1, 111),
                                 Point("r1", "loss/total", 5, 1.5), Point("r1", "lr", 5, 0.01)}),
                         /*now_ms=*/5000),
      IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::RunInfo run, store->GetRun("r1"));
  EXPECT_EQ(run.experiment(), "");
  EXPECT_EQ(run.state(), common::v1::RUN_STATE_UNSPECIFIED);
  EXPECT_EQ(run.created_unix_ms(), 5000);
  EXPECT_EQ(run.num_points(), 3);
  EXPECT_EQ(run.last_step(), 5);

  HistoryQuery query;
  query.run_id = "r1";
  query.names = {"loss/total"};
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<v1::Series> history, store->GetHistory(query));
  ASSERT_THAT(history, SizeIs(1));
  ASSERT_THAT(history[0].points(), SizeIs(2));
  EXPECT_EQ(history[0].points(0).unix_ms(), 111);   // given
  EXPECT_EQ(history[0].points(1).unix_ms(), 5000);  // 0: time of receipt
  EXPECT_EQ(history[0].points(1).epoch(), 1);
}

TEST(SqliteRunStoreTest, ResentPointsReplaceAndNeverDuplicate) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(FreshDbPath()));
  const MetricPoints batch =
      Points({Point("r1", "loss/total", 1, 3.0), Point("r1", "loss/total", 2, 2.0)});
  ASSERT_THAT(store->WritePoints(batch, 1), IsOk());
  ASSERT_THAT(store->WritePoints(batch, 2), IsOk());
  ASSERT_THAT(store->WritePoints(Points({Point("r1", "loss/total", 2, 1.75)}), 3), IsOk());

  HistoryQuery query;
  query.run_id = "r1";
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<v1::Series> history, store->GetHistory(query));
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_THAT(Steps(history[0]), ElementsAre(1, 2));
  EXPECT_THAT(Values(history[0]), ElementsAre(3.0, 1.75));
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::RunInfo run, store->GetRun("r1"));
  EXPECT_EQ(run.num_points(), 2);
}

// ListRuns/GetRun counts are kept in memory once read (no scan of the points table under the
// store's lock); they must match the table through new, re-sent and concurrent writes, and a
// reopened store must count the same.
TEST(SqliteRunStoreTest, CountsStayExactAfterTheyAreFirstRead) {
  const std::string path = FreshDbPath();
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(path));
  ASSERT_THAT(store->PutRun(MakeRun("r1", "exp")), IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::RunInfo empty, store->GetRun("r1"));
  EXPECT_EQ(empty.num_points(), 0);

  ASSERT_THAT(
      store->WritePoints(Points({Point("r1", "loss/total", 3, 1.0), Point("r1", "lr", 3, 0.1)}), 1),
      IsOk());
  // Re-sent (replaced) points are not new; step 7 is.
  const MetricPoints resent_and_new =
      Points({Point("r1", "loss/total", 3, 0.5), Point("r1", "loss/total", 7, 0.4)});
  ASSERT_THAT(store->WritePoints(resent_and_new, 2), IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::RunInfo run, store->GetRun("r1"));
  EXPECT_EQ(run.num_points(), 3);
  EXPECT_EQ(run.last_step(), 7);

  // Concurrent writers (group commit) add to the kept counts.
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&store, t] {
      for (int step = 0; step < 25; ++step) {
        // Every writer also re-sends step 3 of loss/total: replaced, never counted again.
        EXPECT_THAT(store->WritePoints(Points({Point("r1", absl::StrCat("w", t), 100 + step, 1.0),
                                               Point("r1", "loss/total", 3, 0.25)}),
                                       3),
                    IsOk());
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<v1::RunInfo> runs, store->ListRuns(""));
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].num_points(), 3 + 4 * 25);
  EXPECT_EQ(runs[0].last_step(), 124);

  store.reset();
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto reopened, SqliteRunStore::Create(path));
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::RunInfo counted, reopened->GetRun("r1"));
  EXPECT_EQ(counted.num_points(), 3 + 4 * 25);
  EXPECT_EQ(counted.last_step(), 124);
}

TEST(SqliteRunStoreTest, DataSurvivesReopenInWalMode) {
  const std::string path = FreshDbPath();
  {
    JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(path));
    ASSERT_THAT(store->PutRun(MakeRun("exp-s1", "exp")), IsOk());
    ASSERT_THAT(store->WritePoints(Points({Point("exp-s1", "grad_norm", 10, 0.5)}), 1), IsOk());
  }
  {
    // The journal mode is persistent in the file: it must say WAL.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto reopened, SqliteRunStore::Create(path));
  JEPALAB_ASSERT_OK_AND_ASSIGN(v1::RunInfo run, reopened->GetRun("exp-s1"));
  EXPECT_EQ(run.experiment(), "exp");
  EXPECT_EQ(run.num_points(), 1);
  EXPECT_EQ(run.last_step(), 10);
  HistoryQuery query;
  query.run_id = "exp-s1";
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<v1::Series> history, reopened->GetHistory(query));
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_EQ(history[0].name(), "grad_norm");
  EXPECT_THAT(Values(history[0]), ElementsAre(0.5));
}

TEST(SqliteRunStoreTest, CannotOpenMissingDirectoryIsUnavailable) {
  EXPECT_THAT(SqliteRunStore::Create("/nonexistent-dir/for/sure/metrics.db"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("/nonexistent-dir")));
}

TEST(SqliteRunStoreTest, ConcurrentWritersStoreEveryPointExactlyOnce) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(FreshDbPath()));
  constexpr int kThreads = 6;
  constexpr int kBatches = 20;
  constexpr int kPointsPerBatch = 5;
  std::vector<std::thread> writers;
  std::vector<absl::Status> results(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      const std::string run_id = absl::StrCat("run-", t);
      for (int b = 0; b < kBatches && results[t].ok(); ++b) {
        MetricPoints batch;
        for (int p = 0; p < kPointsPerBatch; ++p) {
          *batch.Add() = Point(run_id, "loss/total", b * kPointsPerBatch + p, t + 0.25 * p);
        }
        results[t] = store->WritePoints(batch, 1);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  for (const absl::Status& result : results) EXPECT_THAT(result, IsOk());

  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<v1::RunInfo> runs, store->ListRuns(""));
  ASSERT_THAT(runs, SizeIs(kThreads));
  for (const v1::RunInfo& run : runs) {
    EXPECT_EQ(run.num_points(), kBatches * kPointsPerBatch) << run.run_id();
    EXPECT_EQ(run.last_step(), kBatches * kPointsPerBatch - 1) << run.run_id();
    HistoryQuery query;
    query.run_id = run.run_id();
    JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<v1::Series> history, store->GetHistory(query));
    ASSERT_THAT(history, SizeIs(1));
    const std::vector<int64_t> steps = Steps(history[0]);
    ASSERT_EQ(steps.size(), static_cast<size_t>(kBatches * kPointsPerBatch));
    for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i], static_cast<int64_t>(i));
  }
}

TEST(SqliteRunStoreTest, HistoryFiltersNamesAndStepsAndDownsamples) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(FreshDbPath()));
  MetricPoints batch;
  for (int step = 0; step < 20; ++step) {
    *batch.Add() = Point("r1", "loss/total", step, step);
    *batch.Add() = Point("r1", "lr", step, 0.1);
  }
  ASSERT_THAT(store->WritePoints(batch, 1), IsOk());

  HistoryQuery all;
  all.run_id = "r1";
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<v1::Series> history, store->GetHistory(all));
  ASSERT_THAT(history, SizeIs(2));
  EXPECT_EQ(history[0].name(), "loss/total");  // sorted by name
  EXPECT_EQ(history[1].name(), "lr");

  HistoryQuery range;
  range.run_id = "r1";
  range.names = {"loss/total", "missing"};
  range.min_step = 5;
  range.max_step = 8;
  JEPALAB_ASSERT_OK_AND_ASSIGN(history, store->GetHistory(range));
  ASSERT_THAT(history, SizeIs(2));
  EXPECT_THAT(Steps(history[0]), ElementsAre(5, 6, 7, 8));
  EXPECT_EQ(history[1].name(), "missing");
  EXPECT_THAT(history[1].points(), SizeIs(0));

  HistoryQuery downsampled;
  downsampled.run_id = "r1";
  downsampled.names = {"loss/total"};
  downsampled.min_step = 4;  // 16 points: 4..19
  downsampled.max_points = 4;
  JEPALAB_ASSERT_OK_AND_ASSIGN(history, store->GetHistory(downsampled));
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_THAT(Steps(history[0]), ElementsAre(7, 11, 15, 19));
  EXPECT_THAT(Values(history[0]), ElementsAre(5.5, 9.5, 13.5, 17.5));
}

TEST(SqliteRunStoreTest, SummariesReportExtremaWithTheirSteps) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(FreshDbPath()));
  ASSERT_THAT(store->WritePoints(
                  Points({Point("r1", "loss/total", 0, 4.0), Point("r1", "loss/total", 10, 1.0),
                          Point("r1", "loss/total", 20, 6.0), Point("r1", "loss/total", 30, 2.0),
                          Point("r1", "lr", 30, 0.5)}),
                  1),
              IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<v1::MetricSummary> summaries,
                               store->SummarizeSeries("r1", {"loss/total", "absent"}));
  ASSERT_THAT(summaries, SizeIs(1));
  const v1::MetricSummary& loss = summaries[0];
  EXPECT_EQ(loss.name(), "loss/total");
  EXPECT_EQ(loss.count(), 4);
  EXPECT_DOUBLE_EQ(loss.first(), 4.0);
  EXPECT_DOUBLE_EQ(loss.last(), 2.0);
  EXPECT_DOUBLE_EQ(loss.min(), 1.0);
  EXPECT_EQ(loss.min_step(), 10);
  EXPECT_DOUBLE_EQ(loss.max(), 6.0);
  EXPECT_EQ(loss.max_step(), 20);
  EXPECT_EQ(loss.last_step(), 30);

  JEPALAB_ASSERT_OK_AND_ASSIGN(summaries, store->SummarizeSeries("r1", {}));
  ASSERT_THAT(summaries, SizeIs(2));
  EXPECT_EQ(summaries[1].name(), "lr");
  EXPECT_EQ(summaries[1].count(), 1);
}

TEST(SqliteRunStoreTest, ListRunsFiltersByExperimentOldestFirst) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, SqliteRunStore::Create(FreshDbPath()));
  v1::RunInfo b = MakeRun("b-s1", "b");
  b.set_created_unix_ms(300);
  v1::RunInfo a2 = MakeRun("a-s2", "a");
  a2.set_created_unix_ms(200);
  v1::RunInfo a1 = MakeRun("a-s1", "a");
  a1.set_created_unix_ms(100);
  for (const v1::RunInfo& run : {b, a2, a1}) ASSERT_THAT(store->PutRun(run), IsOk());

  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<v1::RunInfo> runs, store->ListRuns("a"));
  ASSERT_THAT(runs, SizeIs(2));
  EXPECT_EQ(runs[0].run_id(), "a-s1");
  EXPECT_EQ(runs[1].run_id(), "a-s2");
  EXPECT_EQ(runs[0].labels().at("seed"), "7");
  JEPALAB_ASSERT_OK_AND_ASSIGN(runs, store->ListRuns(""));
  EXPECT_THAT(runs, SizeIs(3));
}

}  // namespace
}  // namespace jepalab::metrics
