#include "common/proto_blob_table.h"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/sqlite_db.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gtest/gtest.h"
#include "proto/common.pb.h"

namespace jepalab::common {
namespace {

using ::jepalab::common::v1::RunProgress;
using ::jepalab::testing::MakeTempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

absl::StatusOr<std::unique_ptr<SqliteDb>> OpenDb(const std::string& path) {
  SqliteDbOptions options;
  options.name = "progress store";
  options.schema = ProtoBlobTable<RunProgress>::Schema("progress", "run_id");
  return SqliteDb::Open(path, options);
}

RunProgress Progress(int64_t step) {
  RunProgress progress;
  progress.set_step(step);
  progress.set_total_steps(1000);
  progress.set_eta_seconds(1.5);
  return progress;
}

TEST(ProtoBlobTableTest, RoundTripsInFirstStoredOrderAcrossReopen) {
  const std::string path = MakeTempDir("round_trip_") + "/db";
  {
    JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, OpenDb(path));
    ProtoBlobTable<RunProgress> table(db.get(), "progress", "run_id", "progress");
    ASSERT_THAT(table.Put("b", Progress(1)), IsOk());
    ASSERT_THAT(table.Put("a", Progress(2)), IsOk());
    ASSERT_THAT(table.Put("c", Progress(3)), IsOk());
    // An update replaces the message and keeps its place.
    ASSERT_THAT(table.Put("b", Progress(10)), IsOk());
    JEPALAB_ASSERT_OK_AND_ASSIGN(RunProgress got, table.Get("a"));
    EXPECT_EQ(got.step(), 2);
    EXPECT_EQ(got.total_steps(), 1000);
    EXPECT_DOUBLE_EQ(got.eta_seconds(), 1.5);
  }
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, OpenDb(path));
  ProtoBlobTable<RunProgress> table(db.get(), "progress", "run_id", "progress");
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<RunProgress> all, table.List());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].step(), 10);
  EXPECT_EQ(all[1].step(), 2);
  EXPECT_EQ(all[2].step(), 3);
}

TEST(ProtoBlobTableTest, DeleteRemovesAndUnknownKeyIsNotFound) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                               OpenDb(MakeTempDir("delete_") + "/db"));
  ProtoBlobTable<RunProgress> table(db.get(), "progress", "run_id", "progress");
  ASSERT_THAT(table.Put("a", Progress(1)), IsOk());
  ASSERT_THAT(table.Delete("a"), IsOk());
  ASSERT_THAT(table.Delete("never-stored"), IsOk());
  EXPECT_THAT(table.Get("a"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("progress a")));
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<RunProgress> all, table.List());
  EXPECT_TRUE(all.empty());
}

TEST(ProtoBlobTableTest, UnparsableRecordIsDataLossNamingTheKey) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                               OpenDb(MakeTempDir("corrupt_") + "/db"));
  ProtoBlobTable<RunProgress> table(db.get(), "progress", "run_id", "progress");
  ASSERT_THAT(db->Exec("INSERT INTO progress (run_id, seq, proto) VALUES ('bad', 1, x'ffffff');"),
              IsOk());
  EXPECT_THAT(table.Get("bad"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("progress store"), HasSubstr("progress bad"))));
  EXPECT_THAT(table.List(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("progress bad")));
}

TEST(ProtoBlobTableTest, MissingTableIsInternalNamingIt) {
  SqliteDbOptions options;
  options.name = "progress store";
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                               SqliteDb::Open(MakeTempDir("no_table_") + "/db", options));
  ProtoBlobTable<RunProgress> table(db.get(), "progress", "run_id", "progress");
  EXPECT_THAT(table.List(),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("progress store: prepare"), HasSubstr("FROM progress"))));
}

}  // namespace
}  // namespace jepalab::common
