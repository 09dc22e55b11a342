// Latency samples and errors per request kind ("GetRunHistory", "CLI metrics", ...), recorded
// from many threads, summarised at the end as count / errors / p50 / p99 / max.
#ifndef JEPALAB_BENCH_LOAD_LATENCY_RECORDER_H_
#define JEPALAB_BENCH_LOAD_LATENCY_RECORDER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace jepalab::load {

struct LatencySummary {
  std::string kind;
  int64_t count = 0;  // requests, failed ones included
  int64_t errors = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::string first_error;  // "" if none
};

// Nearest-rank percentile (q in [0, 1]) of `sorted` (ascending); 0 if empty.
double Percentile(const std::vector<double>& sorted, double q);

// Thread-safe. Keeps every sample (a few hundred thousand doubles for a long run).
class LatencyRecorder {
 public:
  void Record(const std::string& kind, double ms, bool ok, const std::string& error = "");

  // One summary per kind, sorted by kind.
  std::vector<LatencySummary> Summaries() const;
  int64_t TotalErrors() const;

 private:
  struct Samples {
    std::vector<double> ms;
    int64_t errors = 0;
    std::string first_error;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Samples> by_kind_ ABSL_GUARDED_BY(mu_);
};

// The table printed at the end: one line per kind.
std::string FormatLatencyTable(const std::vector<LatencySummary>& summaries);

}  // namespace jepalab::load

#endif  // JEPALAB_BENCH_LOAD_LATENCY_RECORDER_H_
