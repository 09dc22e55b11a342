// The load test: starts the real metrics_server and scheduler_server on loopback under a temp
// data dir, writes `streams` concurrent metric streams for `duration` while the query loops
// (gRPC, jepalab CLI, /metrics scrapes, a collapse-event subscriber) read, then reads every
// history back. Used by //bench:load_bench (minutes) and its smoke test (seconds).
#ifndef JEPALAB_BENCH_LOAD_LOAD_TEST_H_
#define JEPALAB_BENCH_LOAD_LOAD_TEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/load/history_check.h"
#include "bench/load/latency_recorder.h"

namespace jepalab::load {

struct LoadTestOptions {
  // Paths of the binaries; cli_binary "" skips the CLI queries.
  std::string metrics_server;
  std::string scheduler_server;
  std::string cli_binary;
  std::string data_dir;  // services' data dirs go under it
  absl::Duration duration = absl::Seconds(180);
  int streams = 50;
  double steps_per_second = 10;  // per stream; a GPU trainer's pace (the CPU mini run: ~8)
  int collapse_every = 5;        // every 5th run collapses (detector events under load)
  int grpc_query_threads = 2;
  absl::Duration grpc_query_interval = absl::Milliseconds(100);
  absl::Duration cli_interval = absl::Milliseconds(250);
  absl::Duration scrape_interval = absl::Milliseconds(500);
};

struct LoadTestResult {
  std::vector<LatencySummary> latencies;
  int64_t errors = 0;         // failed requests of every kind
  int64_t runs_failed = 0;    // streams that could not register
  HistoryCheck history;       // all runs together
  double stream_seconds = 0;  // from the first step to the last acknowledgement
  int64_t acked_steps = 0;
  int64_t acked_points = 0;
  int64_t collapse_events = 0;
  // CPU time (user + system) spent during the test, to tell load from starvation on a shared box.
  double metrics_cpu_seconds = 0;
  double scheduler_cpu_seconds = 0;
  double client_cpu_seconds = 0;          // this process: streams, queries (CLI children excluded)
  std::vector<std::string> service_logs;  // stderr of metrics_server and scheduler_server

  bool Passed() const { return errors == 0 && runs_failed == 0 && history.Clean(); }
};

// Errors only if the services cannot be started; request failures are in the result.
absl::StatusOr<LoadTestResult> RunLoadTest(const LoadTestOptions& options);

// The table and the totals, as printed at the end.
std::string FormatLoadReport(const LoadTestOptions& options, const LoadTestResult& result);

}  // namespace jepalab::load

#endif  // JEPALAB_BENCH_LOAD_LOAD_TEST_H_
