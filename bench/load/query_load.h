// The read side of the load test, run while the metric streams write: loops of direct gRPC
// queries (GetRunHistory, ListRuns, CompareRuns, GetCollapseStatus), of the real jepalab CLI
// (metrics, compare, list), of Prometheus scrapes (HTTP GET /metrics), and one
// WatchCollapseEvents subscriber. Every request's latency and outcome goes to the recorder.
#ifndef JEPALAB_BENCH_LOAD_QUERY_LOAD_H_
#define JEPALAB_BENCH_LOAD_QUERY_LOAD_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "bench/load/latency_recorder.h"

namespace jepalab::load {

struct QueryLoadOptions {
  std::string metrics_address;
  std::string scheduler_address;
  int metrics_http_port = 0;
  std::string cli_binary;            // path of jepalab; "" skips the CLI loop
  std::vector<std::string> run_ids;  // the runs being written (queried round-robin)
  int grpc_threads = 2;
  absl::Duration grpc_interval = absl::Milliseconds(100);  // pause between queries, per thread
  absl::Duration cli_interval = absl::Milliseconds(250);
  absl::Duration scrape_interval = absl::Milliseconds(500);
  absl::Duration rpc_timeout = absl::Seconds(30);
};

// Starts its threads on construction; Stop() (or the destructor) ends and joins them.
class QueryLoad {
 public:
  explicit QueryLoad(const QueryLoadOptions& options, LatencyRecorder* recorder);
  ~QueryLoad();

  void Stop();
  int64_t collapse_events() const { return collapse_events_.load(); }

 private:
  void GrpcLoop(int thread_index);
  void CliLoop();
  void ScrapeLoop();
  void WatchLoop();
  // Sleeps `interval` or until Stop().
  void Pause(absl::Duration interval);

  QueryLoadOptions options_;
  LatencyRecorder* recorder_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> collapse_events_{0};
  std::shared_ptr<grpc::Channel> metrics_channel_;
  grpc::ClientContext watch_context_;  // cancelled by Stop()
  std::vector<std::thread> threads_;
};

}  // namespace jepalab::load

#endif  // JEPALAB_BENCH_LOAD_QUERY_LOAD_H_
