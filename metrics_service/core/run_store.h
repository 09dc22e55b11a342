// Durable storage of run metadata and metric points: the RunStore interface and its SQLite
// implementation (one database file per metrics_service instance).
#ifndef JEPALAB_METRICS_SERVICE_CORE_RUN_STORE_H_
#define JEPALAB_METRICS_SERVICE_CORE_RUN_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/sqlite_db.h"
#include "proto/metrics.pb.h"

namespace jepalab::metrics {

// A batch of points as it arrives in ReportMetricsRequest.
using MetricPoints = google::protobuf::RepeatedPtrField<v1::MetricPoint>;

// One history query; arguments are already validated by the caller.
struct HistoryQuery {
  std::string run_id;
  std::vector<std::string> names;  // empty: every series of the run, ordered by name
  int64_t min_step = 0;
  int64_t max_step = 0;  // 0: no upper bound
  int max_points = 0;    // per series; 0: all, else DownsampleByBucketMean
};

// Storage of runs and their metric points. Implementations are thread-safe. Callers validate
// input first (the core does); a store only reports storage failures: Unavailable (busy, I/O),
// ResourceExhausted (disk full), DataLoss (corrupt database), Internal (anything else),
// NotFound (unknown run).
class RunStore {
 public:
  virtual ~RunStore() = default;

  // Inserts or fully replaces the run's metadata and labels (num_points/last_step ignored).
  virtual absl::Status PutRun(const v1::RunInfo& run) = 0;

  // The run's metadata with num_points and last_step filled; NotFound if unknown.
  virtual absl::StatusOr<v1::RunInfo> GetRun(absl::string_view run_id) = 0;

  // Runs of `experiment` (all when empty), oldest first, with num_points and last_step.
  virtual absl::StatusOr<std::vector<v1::RunInfo>> ListRuns(absl::string_view experiment) = 0;

  // Writes all `points` in one transaction: all or nothing. A point with the same
  // (run_id, name, step) as a stored one replaces it. A run_id never registered gets a minimal
  // run record (empty experiment, state unspecified) created at `now_ms`. Durable on return.
  virtual absl::Status WritePoints(const MetricPoints& points, int64_t now_ms) = 0;

  // Series of one run, each sorted by step. With explicit names, one Series per name in the
  // given order (empty when the run has no such points).
  virtual absl::StatusOr<std::vector<v1::Series>> GetHistory(const HistoryQuery& query) = 0;

  // Names of every series the run has, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListSeriesNames(absl::string_view run_id) = 0;

  // One summary per name that has points (sorted by name); `names` empty: every series.
  // min_step/max_step are the steps of the first occurrence of the minimum/maximum.
  virtual absl::StatusOr<std::vector<v1::MetricSummary>> SummarizeSeries(
      absl::string_view run_id, const std::vector<std::string>& names) = 0;
};

// RunStore on one SQLite file in WAL mode with synchronous=FULL, so a point acknowledged by
// WritePoints survives a crash or power loss. One connection serialised by a mutex: SQLite
// writes are serial anyway, and reads are short. Thread-safe.
class SqliteRunStore : public RunStore {
 public:
  // Opens or creates the database at `path` and its schema. Unavailable if it cannot be
  // opened, DataLoss if it is not a database, Internal if the schema cannot be created.
  static absl::StatusOr<std::unique_ptr<SqliteRunStore>> Create(const std::string& path);
  ~SqliteRunStore() override;

  SqliteRunStore(const SqliteRunStore&) = delete;
  SqliteRunStore& operator=(const SqliteRunStore&) = delete;

  absl::Status PutRun(const v1::RunInfo& run) override;
  absl::StatusOr<v1::RunInfo> GetRun(absl::string_view run_id) override;
  absl::StatusOr<std::vector<v1::RunInfo>> ListRuns(absl::string_view experiment) override;
  absl::Status WritePoints(const MetricPoints& points, int64_t now_ms) override;
  absl::StatusOr<std::vector<v1::Series>> GetHistory(const HistoryQuery& query) override;
  absl::StatusOr<std::vector<std::string>> ListSeriesNames(absl::string_view run_id) override;
  absl::StatusOr<std::vector<v1::MetricSummary>> SummarizeSeries(
      absl::string_view run_id, const std::vector<std::string>& names) override;

 private:
  explicit SqliteRunStore(std::unique_ptr<common::SqliteDb> db) : db_(std::move(db)) {}

  absl::StatusOr<std::vector<v1::RunInfo>> QueryRuns(absl::string_view where, absl::string_view arg)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<v1::SeriesPoint>> QuerySeries(const HistoryQuery& query,
                                                           const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<std::string>> QuerySeriesNames(absl::string_view run_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // One caller's batch waiting to be committed (group commit, see WritePoints).
  struct PendingWrite {
    const MetricPoints* points;
    int64_t now_ms;
    absl::Status status;
    bool done = false;
  };
  // A run's num_points and last_step. Counting them scans the run's points, which under mu_
  // stalls every ingest stream, so they are counted once per run and then kept up to date.
  struct RunStats {
    int64_t num_points = 0;
    int64_t last_step = 0;
  };
  using RunStatsDelta = absl::flat_hash_map<std::string, RunStats>;  // new points per run
  absl::StatusOr<RunStats> StatsOf(const std::string& run_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds committed points to the runs already in stats_.
  void ApplyStats(const RunStatsDelta& delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Inserts `points` in the open transaction; adds the points that were new to `added`.
  absl::Status InsertPoints(const MetricPoints& points, int64_t now_ms, RunStatsDelta* added)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits `group` in one transaction, or batch by batch if that fails, and fills statuses.
  void CommitGroup(const std::vector<PendingWrite*>& group);

  absl::Mutex mu_;
  const std::unique_ptr<common::SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, RunStats> stats_ ABSL_GUARDED_BY(mu_);  // runs read so far

  absl::Mutex queue_mu_;
  std::vector<PendingWrite*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool writer_active_ ABSL_GUARDED_BY(queue_mu_) = false;
};

}  // namespace jepalab::metrics

#endif  // JEPALAB_METRICS_SERVICE_CORE_RUN_STORE_H_
