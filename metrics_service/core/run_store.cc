#include "metrics_service/core/run_store.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "metrics_service/core/downsample.h"

namespace jepalab::metrics {
namespace {

// Schema version 1. Points are keyed by (run_id, name, step) so that a re-sent point replaces
// the stored one: the trainer retries whole batches after a broken stream, and history must
// never hold duplicates. WITHOUT ROWID keeps each point in the primary-key b-tree, which is
// also the order history queries read.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY NOT NULL,
  experiment TEXT NOT NULL DEFAULT '',
  config_yaml TEXT NOT NULL DEFAULT '',
  config_hash TEXT NOT NULL DEFAULT '',
  state INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '',
  created_unix_ms INTEGER NOT NULL,
  updated_unix_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment, created_unix_ms);
CREATE TABLE IF NOT EXISTS run_labels (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
  run_id TEXT NOT NULL,
  name TEXT NOT NULL,
  step INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  value REAL NOT NULL,
  unix_ms INTEGER NOT NULL,
  PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

// num_points and last_step come from SqliteRunStore::StatsOf, not from here: counting a run's
// points scans them, and under the store's one lock that stalled ingest (docs/performance.md).
constexpr char kSelectRuns[] = R"sql(
SELECT r.run_id, r.experiment, r.config_yaml, r.config_hash, r.state, r.message,
       r.created_unix_ms, r.updated_unix_ms
FROM runs r
)sql";

using common::InSqliteTransaction;
using common::SqliteStatement;

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteRunStore>> SqliteRunStore::Create(const std::string& path) {
  common::SqliteDbOptions options;
  options.name = "metrics store";
  // FULL (not WAL's usual NORMAL): each commit is fsynced, so an acknowledged batch survives
  // power loss, which the ReportMetrics contract promises.
  options.synchronous = "FULL";
  options.foreign_keys = true;
  options.schema = kSchema;
  JEPALAB_ASSIGN_OR_RETURN(std::unique_ptr<common::SqliteDb> db,
                           common::SqliteDb::Open(path, options));
  return std::unique_ptr<SqliteRunStore>(new SqliteRunStore(std::move(db)));
}

SqliteRunStore::~SqliteRunStore() = default;

absl::Status SqliteRunStore::PutRun(const v1::RunInfo& run) {
  absl::MutexLock lock(&mu_);
  return InSqliteTransaction(*db_, [&]() -> absl::Status {
    JEPALAB_ASSIGN_OR_RETURN(SqliteStatement upsert, db_->Prepare(R"sql(
        INSERT INTO runs (run_id, experiment, config_yaml, config_hash, state, message,
                          created_unix_ms, updated_unix_ms)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
        ON CONFLICT (run_id) DO UPDATE SET
          experiment = excluded.experiment, config_yaml = excluded.config_yaml,
          config_hash = excluded.config_hash, state = excluded.state,
          message = excluded.message, created_unix_ms = excluded.created_unix_ms,
          updated_unix_ms = excluded.updated_unix_ms)sql"));
    upsert.BindText(1, run.run_id());
    upsert.BindText(2, run.experiment());
    upsert.BindText(3, run.config_yaml());
    upsert.BindText(4, run.config_hash());
    upsert.BindInt(5, run.state());
    upsert.BindText(6, run.message());
    upsert.BindInt(7, run.created_unix_ms());
    upsert.BindInt(8, run.updated_unix_ms());
    JEPALAB_RETURN_IF_ERROR(upsert.Run());

    JEPALAB_ASSIGN_OR_RETURN(SqliteStatement clear,
                             db_->Prepare("DELETE FROM run_labels WHERE run_id = ?1"));
    clear.BindText(1, run.run_id());
    JEPALAB_RETURN_IF_ERROR(clear.Run());
    JEPALAB_ASSIGN_OR_RETURN(
        SqliteStatement label,
        db_->Prepare("INSERT INTO run_labels (run_id, key, value) VALUES (?1, ?2, ?3)"));
    for (const auto& [key, value] : run.labels()) {
      label.Reset();
      label.BindText(1, run.run_id());
      label.BindText(2, key);
      label.BindText(3, value);
      JEPALAB_RETURN_IF_ERROR(label.Run());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<v1::RunInfo>> SqliteRunStore::QueryRuns(absl::string_view where,
                                                                   absl::string_view arg) {
  JEPALAB_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare(absl::StrCat(kSelectRuns, where, " ORDER BY r.created_unix_ms, r.run_id")));
  if (!where.empty()) select.BindText(1, arg);
  std::vector<v1::RunInfo> runs;
  while (true) {
    JEPALAB_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    v1::RunInfo& run = runs.emplace_back();
    run.set_run_id(select.Text(0));
    run.set_experiment(select.Text(1));
    run.set_config_yaml(select.Text(2));
    run.set_config_hash(select.Text(3));
    const int64_t state = select.Int(4);
    run.set_state(common::v1::RunState_IsValid(static_cast<int>(state))
                      ? static_cast<common::v1::RunState>(state)
                      : common::v1::RUN_STATE_UNSPECIFIED);
    run.set_message(select.Text(5));
    run.set_created_unix_ms(select.Int(6));
    run.set_updated_unix_ms(select.Int(7));
  }
  for (v1::RunInfo& run : runs) {
    JEPALAB_ASSIGN_OR_RETURN(const RunStats stats, StatsOf(run.run_id()));
    run.set_num_points(stats.num_points);
    run.set_last_step(stats.last_step);
  }
  JEPALAB_ASSIGN_OR_RETURN(SqliteStatement labels,
                           db_->Prepare("SELECT key, value FROM run_labels WHERE run_id = ?1"));
  for (v1::RunInfo& run : runs) {
    labels.Reset();
    labels.BindText(1, run.run_id());
    while (true) {
      JEPALAB_ASSIGN_OR_RETURN(bool row, labels.Step());
      if (!row) break;
      (*run.mutable_labels())[labels.Text(0)] = labels.Text(1);
    }
  }
  return runs;
}

absl::StatusOr<SqliteRunStore::RunStats> SqliteRunStore::StatsOf(const std::string& run_id) {
  if (auto it = stats_.find(run_id); it != stats_.end()) return it->second;
  // Once per run and process; from then on CommitGroup keeps the figures up to date.
  JEPALAB_ASSIGN_OR_RETURN(
      SqliteStatement count,
      db_->Prepare("SELECT COUNT(*), COALESCE(MAX(step), 0) FROM points WHERE run_id = ?1"));
  count.BindText(1, run_id);
  JEPALAB_ASSIGN_OR_RETURN(bool row, count.Step());
  RunStats stats;
  if (row) stats = RunStats{count.Int(0), count.Int(1)};
  stats_.emplace(run_id, stats);
  return stats;
}

void SqliteRunStore::ApplyStats(const RunStatsDelta& delta) {
  for (const auto& [run_id, added] : delta) {
    auto it = stats_.find(run_id);
    if (it == stats_.end()) continue;  // never read yet: StatsOf will count it from the table
    RunStats& stats = it->second;
    stats.last_step =
        stats.num_points == 0 ? added.last_step : std::max(stats.last_step, added.last_step);
    stats.num_points += added.num_points;
  }
}

absl::StatusOr<v1::RunInfo> SqliteRunStore::GetRun(absl::string_view run_id) {
  absl::MutexLock lock(&mu_);
  JEPALAB_ASSIGN_OR_RETURN(std::vector<v1::RunInfo> runs, QueryRuns("WHERE r.run_id = ?1", run_id));
  if (runs.empty()) return absl::NotFoundError(absl::StrCat("run ", run_id, ": not found"));
  return std::move(runs.front());
}

absl::StatusOr<std::vector<v1::RunInfo>> SqliteRunStore::ListRuns(absl::string_view experiment) {
  absl::MutexLock lock(&mu_);
  if (experiment.empty()) return QueryRuns("", "");
  return QueryRuns("WHERE r.experiment = ?1", experiment);
}

// Group commit: concurrent callers queue their batches; one of them (the writer) commits
// everything queued in a single transaction, so N concurrent streams share one fsync instead
// of paying N. Every caller still returns only after its own batch is durable.
absl::Status SqliteRunStore::WritePoints(const MetricPoints& points, int64_t now_ms) {
  if (points.empty()) return absl::OkStatus();
  PendingWrite mine{&points, now_ms};
  {
    absl::MutexLock lock(&queue_mu_);
    queue_.push_back(&mine);
    auto done_or_free = [this, &mine]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
      return mine.done || !writer_active_;
    };
    queue_mu_.Await(absl::Condition(&done_or_free));
    if (mine.done) return mine.status;
    writer_active_ = true;
  }
  std::vector<PendingWrite*> group;
  {
    absl::MutexLock lock(&queue_mu_);
    group.swap(queue_);
  }
  CommitGroup(group);
  absl::MutexLock lock(&queue_mu_);
  for (PendingWrite* write : group) write->done = true;
  writer_active_ = false;
  return mine.status;
}

void SqliteRunStore::CommitGroup(const std::vector<PendingWrite*>& group) {
  absl::MutexLock lock(&mu_);
  RunStatsDelta added;
  absl::Status together = InSqliteTransaction(*db_, [&]() -> absl::Status {
    for (const PendingWrite* write : group) {
      JEPALAB_RETURN_IF_ERROR(InsertPoints(*write->points, write->now_ms, &added));
    }
    return absl::OkStatus();
  });
  if (together.ok()) ApplyStats(added);  // only what was committed
  for (PendingWrite* write : group) {
    if (together.ok() || group.size() == 1) {
      write->status = together;
      continue;
    }
    // On failure, retry alone so that one batch's error never fails another's.
    RunStatsDelta alone;
    write->status = InSqliteTransaction(
        *db_, [&] { return InsertPoints(*write->points, write->now_ms, &alone); });
    if (write->status.ok()) ApplyStats(alone);
  }
}

absl::Status SqliteRunStore::InsertPoints(const MetricPoints& points, int64_t now_ms,
                                          RunStatsDelta* added) {
  JEPALAB_ASSIGN_OR_RETURN(SqliteStatement run, db_->Prepare(R"sql(
      INSERT INTO runs (run_id, created_unix_ms, updated_unix_ms) VALUES (?1, ?2, ?2)
      ON CONFLICT (run_id) DO NOTHING)sql"));
  absl::flat_hash_set<std::string> seen_runs;
  for (const v1::MetricPoint& point : points) {
    if (!seen_runs.insert(point.run_id()).second) continue;
    run.Reset();
    run.BindText(1, point.run_id());
    run.BindInt(2, now_ms);
    JEPALAB_RETURN_IF_ERROR(run.Run());
  }
  // Insert, and replace only on conflict (a re-sent point), so that the new points of each run
  // are known and its cached count stays exact.
  JEPALAB_ASSIGN_OR_RETURN(SqliteStatement insert, db_->Prepare(R"sql(
      INSERT INTO points (run_id, name, step, epoch, value, unix_ms)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6)
      ON CONFLICT (run_id, name, step) DO NOTHING)sql"));
  JEPALAB_ASSIGN_OR_RETURN(SqliteStatement replace, db_->Prepare(R"sql(
      UPDATE points SET epoch = ?4, value = ?5, unix_ms = ?6
      WHERE run_id = ?1 AND name = ?2 AND step = ?3)sql"));
  for (const v1::MetricPoint& point : points) {
    const int64_t unix_ms = point.unix_ms() != 0 ? point.unix_ms() : now_ms;
    insert.Reset();
    insert.BindText(1, point.run_id());
    insert.BindText(2, point.name());
    insert.BindInt(3, point.step());
    insert.BindInt(4, point.epoch());
    insert.BindDouble(5, point.value());
    insert.BindInt(6, unix_ms);
    JEPALAB_RETURN_IF_ERROR(insert.Run());
    const bool is_new = db_->Changes() == 1;
    if (!is_new) {
      replace.Reset();
      replace.BindText(1, point.run_id());
      replace.BindText(2, point.name());
      replace.BindInt(3, point.step());
      replace.BindInt(4, point.epoch());
      replace.BindDouble(5, point.value());
      replace.BindInt(6, unix_ms);
      JEPALAB_RETURN_IF_ERROR(replace.Run());
    }
    RunStats& run_added =
        added->try_emplace(point.run_id(), RunStats{0, point.step()}).first->second;
    if (is_new) ++run_added.num_points;
    run_added.last_step = std::max(run_added.last_step, point.step());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SqliteRunStore::QuerySeriesNames(
    absl::string_view run_id) {
  JEPALAB_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT DISTINCT name FROM points WHERE run_id = ?1 ORDER BY name"));
  select.BindText(1, run_id);
  std::vector<std::string> names;
  while (true) {
    JEPALAB_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    names.push_back(select.Text(0));
  }
  return names;
}

absl::StatusOr<std::vector<v1::SeriesPoint>> SqliteRunStore::QuerySeries(const HistoryQuery& query,
                                                                         const std::string& name) {
  JEPALAB_ASSIGN_OR_RETURN(SqliteStatement select, db_->Prepare(R"sql(
      SELECT step, epoch, value, unix_ms FROM points
      WHERE run_id = ?1 AND name = ?2 AND step >= ?3 AND step <= ?4 ORDER BY step)sql"));
  select.BindText(1, query.run_id);
  select.BindText(2, name);
  select.BindInt(3, query.min_step);
  select.BindInt(4, query.max_step > 0 ? query.max_step : std::numeric_limits<int64_t>::max());
  std::vector<v1::SeriesPoint> points;
  while (true) {
    JEPALAB_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    v1::SeriesPoint& point = points.emplace_back();
    point.set_step(select.Int(0));
    point.set_epoch(static_cast<int32_t>(select.Int(1)));
    point.set_value(select.Double(2));
    point.set_unix_ms(select.Int(3));
  }
  return points;
}

absl::StatusOr<std::vector<std::string>> SqliteRunStore::ListSeriesNames(absl::string_view run_id) {
  absl::MutexLock lock(&mu_);
  return QuerySeriesNames(run_id);
}

absl::StatusOr<std::vector<v1::Series>> SqliteRunStore::GetHistory(const HistoryQuery& query) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names = query.names;
  if (names.empty()) {
    JEPALAB_ASSIGN_OR_RETURN(names, QuerySeriesNames(query.run_id));
  }
  std::vector<v1::Series> result;
  for (const std::string& name : names) {
    JEPALAB_ASSIGN_OR_RETURN(std::vector<v1::SeriesPoint> points, QuerySeries(query, name));
    v1::Series& series = result.emplace_back();
    series.set_name(name);
    for (v1::SeriesPoint& point : DownsampleByBucketMean(std::move(points), query.max_points)) {
      *series.add_points() = std::move(point);
    }
  }
  return result;
}

absl::StatusOr<std::vector<v1::MetricSummary>> SqliteRunStore::SummarizeSeries(
    absl::string_view run_id, const std::vector<std::string>& names) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> sorted_names;
  if (names.empty()) {
    JEPALAB_ASSIGN_OR_RETURN(sorted_names, QuerySeriesNames(run_id));
  } else {
    const std::set<std::string> unique(names.begin(), names.end());
    sorted_names.assign(unique.begin(), unique.end());
  }
  HistoryQuery all;
  all.run_id = std::string(run_id);
  std::vector<v1::MetricSummary> summaries;
  for (const std::string& name : sorted_names) {
    JEPALAB_ASSIGN_OR_RETURN(std::vector<v1::SeriesPoint> points, QuerySeries(all, name));
    if (points.empty()) continue;
    v1::MetricSummary& summary = summaries.emplace_back();
    summary.set_name(name);
    summary.set_count(static_cast<int64_t>(points.size()));
    summary.set_first(points.front().value());
    summary.set_last(points.back().value());
    summary.set_last_step(points.back().step());
    summary.set_min(points.front().value());
    summary.set_min_step(points.front().step());
    summary.set_max(points.front().value());
    summary.set_max_step(points.front().step());
    for (const v1::SeriesPoint& point : points) {
      // Strict comparisons: ties keep the earliest step.
      if (point.value() < summary.min()) {
        summary.set_min(point.value());
        summary.set_min_step(point.step());
      }
      if (point.value() > summary.max()) {
        summary.set_max(point.value());
        summary.set_max_step(point.step());
      }
    }
  }
  return summaries;
}

}  // namespace jepalab::metrics
