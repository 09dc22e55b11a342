#include "bench/load/latency_recorder.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace jepalab::load {

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  const double rank = std::ceil(q * static_cast<double>(sorted.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

void LatencyRecorder::Record(const std::string& kind, double ms, bool ok,
                             const std::string& error) {
  absl::MutexLock lock(&mu_);
  Samples& samples = by_kind_[kind];
  samples.ms.push_back(ms);
  if (!ok) {
    if (samples.errors == 0) samples.first_error = error.empty() ? "(no message)" : error;
    ++samples.errors;
  }
}

std::vector<LatencySummary> LatencyRecorder::Summaries() const {
  absl::MutexLock lock(&mu_);
  std::vector<LatencySummary> out;
  for (const auto& [kind, samples] : by_kind_) {
    std::vector<double> sorted = samples.ms;
    std::sort(sorted.begin(), sorted.end());
    LatencySummary summary;
    summary.kind = kind;
    summary.count = static_cast<int64_t>(sorted.size());
    summary.errors = samples.errors;
    summary.p50_ms = Percentile(sorted, 0.50);
    summary.p99_ms = Percentile(sorted, 0.99);
    summary.max_ms = sorted.empty() ? 0 : sorted.back();
    summary.first_error = samples.first_error;
    out.push_back(std::move(summary));
  }
  return out;
}

int64_t LatencyRecorder::TotalErrors() const {
  absl::MutexLock lock(&mu_);
  int64_t errors = 0;
  for (const auto& [kind, samples] : by_kind_) errors += samples.errors;
  return errors;
}

std::string FormatLatencyTable(const std::vector<LatencySummary>& summaries) {
  std::string out = absl::StrFormat("%-28s %9s %7s %10s %10s %10s\n", "KIND", "COUNT", "ERRORS",
                                    "P50 ms", "P99 ms", "MAX ms");
  for (const LatencySummary& s : summaries) {
    absl::StrAppend(&out, absl::StrFormat("%-28s %9d %7d %10.2f %10.2f %10.2f\n", s.kind, s.count,
                                          s.errors, s.p50_ms, s.p99_ms, s.max_ms));
  }
  for (const LatencySummary& s : summaries) {
    if (s.errors > 0) absl::StrAppend(&out, "  first error of ", s.kind, ": ", s.first_error, "\n");
  }
  return out;
}

}  // namespace jepalab::load
