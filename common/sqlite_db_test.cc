#include "common/sqlite_db.h"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/status_macros.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gtest/gtest.h"

namespace jepalab::common {
namespace {

using ::jepalab::testing::MakeTempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

constexpr char kSchema[] = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER);";

SqliteDbOptions TestOptions() {
  SqliteDbOptions options;
  options.name = "test db";
  options.schema = kSchema;
  return options;
}

absl::Status Insert(SqliteDb& db, const std::string& key, int64_t value) {
  absl::StatusOr<SqliteStatement> insert = db.Prepare("INSERT INTO t (k, v) VALUES (?1, ?2)");
  if (!insert.ok()) return insert.status();
  insert->BindText(1, key);
  insert->BindInt(2, value);
  return insert->Run();
}

int64_t CountRows(SqliteDb& db) {
  absl::StatusOr<SqliteStatement> count = db.Prepare("SELECT COUNT(*) FROM t");
  EXPECT_THAT(count.status(), IsOk());
  EXPECT_EQ(count->Step().value_or(false), true);
  return count->Int(0);
}

TEST(SqliteDbTest, BindsStepsAndReadsColumns) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                               SqliteDb::Open(MakeTempDir("columns_") + "/db", TestOptions()));
  ASSERT_THAT(db->Exec("CREATE TABLE c (t TEXT, b BLOB, i INTEGER, d REAL)"), IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(SqliteStatement insert,
                               db->Prepare("INSERT INTO c (t, b, i, d) VALUES (?1, ?2, ?3, ?4)"));
  const std::string blob("a\0b", 3);
  insert.BindText(1, "text");
  insert.BindBlob(2, blob);
  insert.BindInt(3, int64_t{1} << 40);
  insert.BindDouble(4, 0.25);
  ASSERT_THAT(insert.Run(), IsOk());
  EXPECT_EQ(db->Changes(), 1);

  JEPALAB_ASSERT_OK_AND_ASSIGN(SqliteStatement select, db->Prepare("SELECT t, b, i, d FROM c"));
  JEPALAB_ASSERT_OK_AND_ASSIGN(bool row, select.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(select.Text(0), "text");
  EXPECT_EQ(select.Blob(1), blob);
  EXPECT_EQ(select.Int(2), int64_t{1} << 40);
  EXPECT_DOUBLE_EQ(select.Double(3), 0.25);
  JEPALAB_ASSERT_OK_AND_ASSIGN(row, select.Step());
  EXPECT_FALSE(row);
}

TEST(SqliteDbTest, OpensInWalMode) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                               SqliteDb::Open(MakeTempDir("wal_") + "/db", TestOptions()));
  JEPALAB_ASSERT_OK_AND_ASSIGN(SqliteStatement mode, db->Prepare("PRAGMA journal_mode"));
  ASSERT_EQ(mode.Step().value_or(false), true);
  EXPECT_EQ(mode.Text(0), "wal");
}

TEST(SqliteDbTest, MissingDirectoryIsUnavailable) {
  EXPECT_THAT(SqliteDb::Open(MakeTempDir("missing_") + "/no/such/dir/db", TestOptions()),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("test db: cannot open"), HasSubstr("/no/such/dir/db"))));
}

TEST(SqliteDbTest, FileThatIsNotADatabaseIsDataLoss) {
  const std::string path = MakeTempDir("notadb_") + "/db";
  std::ofstream(path, std::ios::binary) << std::string(8192, 'x');
  EXPECT_THAT(SqliteDb::Open(path, TestOptions()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

TEST(SqliteDbTest, CorruptPageIsDataLoss) {
  const std::string path = MakeTempDir("corrupt_") + "/db";
  {
    JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, TestOptions()));
    for (int i = 0; i < 200; ++i) {
      ASSERT_THAT(Insert(*db, "key-" + std::to_string(i), i), IsOk());
    }
  }  // the last connection closes: the WAL is checkpointed into the file
  {
    // Scribble over every page after the first (which holds the header and the schema).
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096);
    const std::string junk(3 * 4096, '\x5a');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, TestOptions()));
  JEPALAB_ASSERT_OK_AND_ASSIGN(SqliteStatement select, db->Prepare("SELECT k, v FROM t"));
  absl::Status status = select.Run();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss,
                               AllOf(HasSubstr("test db: step `SELECT k, v FROM t`"),
                                     HasSubstr("malformed"))));
}

TEST(SqliteDbTest, LockHeldByAnotherConnectionIsUnavailable) {
  const std::string path = MakeTempDir("busy_") + "/db";
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> holder,
                               SqliteDb::Open(path, TestOptions()));
  SqliteDbOptions impatient = TestOptions();
  impatient.busy_timeout_ms = 0;
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> other, SqliteDb::Open(path, impatient));

  JEPALAB_ASSERT_OK_AND_ASSIGN(SqliteTransaction held, SqliteTransaction::Begin(*holder));
  EXPECT_THAT(SqliteTransaction::Begin(*other).status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("BEGIN IMMEDIATE"), HasSubstr("locked"))));
  EXPECT_THAT(Insert(*other, "k", 1),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("INSERT INTO t")));
  ASSERT_THAT(held.Commit(), IsOk());
  EXPECT_THAT(Insert(*other, "k", 1), IsOk());
}

TEST(SqliteDbTest, BadStatementIsInternalAndNamesIt) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                               SqliteDb::Open(MakeTempDir("bad_sql_") + "/db", TestOptions()));
  EXPECT_THAT(db->Prepare("SELECT nope FROM t").status(),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("prepare `SELECT nope FROM t`"), HasSubstr("no such"))));
  ASSERT_THAT(Insert(*db, "k", 1), IsOk());
  EXPECT_THAT(Insert(*db, "k", 2), StatusIs(absl::StatusCode::kInternal, HasSubstr("UNIQUE")));
  JEPALAB_ASSERT_OK_AND_ASSIGN(SqliteStatement select, db->Prepare("SELECT v FROM t WHERE k = ?1"));
  select.BindText(2, "k");  // no such parameter
  EXPECT_THAT(select.Step().status(), StatusIs(absl::StatusCode::kInternal, HasSubstr("bind")));
}

TEST(SqliteDbTest, TransactionRollsBackUnlessCommitted) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                               SqliteDb::Open(MakeTempDir("transaction_") + "/db", TestOptions()));
  {
    JEPALAB_ASSERT_OK_AND_ASSIGN(SqliteTransaction transaction, SqliteTransaction::Begin(*db));
    ASSERT_THAT(Insert(*db, "dropped", 1), IsOk());
  }  // destroyed uncommitted
  EXPECT_EQ(CountRows(*db), 0);

  // A failing body rolls back what it wrote before failing, and its error comes back.
  EXPECT_THAT(InSqliteTransaction(*db,
                                  [&]() -> absl::Status {
                                    JEPALAB_RETURN_IF_ERROR(Insert(*db, "a", 1));
                                    return Insert(*db, "a", 2);  // duplicate key
                                  }),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("UNIQUE")));
  EXPECT_EQ(CountRows(*db), 0);

  EXPECT_THAT(InSqliteTransaction(*db,
                                  [&]() -> absl::Status {
                                    JEPALAB_RETURN_IF_ERROR(Insert(*db, "a", 1));
                                    return Insert(*db, "b", 2);
                                  }),
              IsOk());
  EXPECT_EQ(CountRows(*db), 2);
}

TEST(SqliteDbTest, CountersStartAtOneAndSurviveReopen) {
  const std::string path = MakeTempDir("counters_") + "/db";
  SqliteDbOptions options = TestOptions();
  options.schema = kSqliteCountersSchema;
  {
    JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, options));
    EXPECT_EQ(NextSqliteCounter(*db, "a").value(), 1);
    EXPECT_EQ(NextSqliteCounter(*db, "a").value(), 2);
    EXPECT_EQ(NextSqliteCounter(*db, "b").value(), 1);
  }
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, options));
  EXPECT_EQ(NextSqliteCounter(*db, "a").value(), 3);
}

TEST(SqliteStatusTest, MapsResultCodesToOneSetOfStatusCodes) {
  EXPECT_THAT(SqliteStatus(SQLITE_OK, "ctx"), IsOk());
  for (int rc : {SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED, SQLITE_IOERR_WRITE}) {
    EXPECT_THAT(SqliteStatus(rc, "store: step `X`"),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("store: step `X`: ")))
        << rc;
  }
  for (int rc : {SQLITE_CORRUPT, SQLITE_CORRUPT_INDEX, SQLITE_NOTADB}) {
    EXPECT_THAT(SqliteStatus(rc, "ctx"), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("ctx")))
        << rc;
  }
  EXPECT_THAT(SqliteStatus(SQLITE_FULL, "ctx"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("full")));
  for (int rc : {SQLITE_ERROR, SQLITE_CONSTRAINT_UNIQUE, SQLITE_MISUSE, SQLITE_RANGE}) {
    EXPECT_THAT(SqliteStatus(rc, "ctx"), StatusIs(absl::StatusCode::kInternal, HasSubstr("ctx")))
        << rc;
  }
}

}  // namespace
}  // namespace jepalab::common
