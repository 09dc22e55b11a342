// The latest value of each metric of a run, read from metrics_service (their owner) for
// `jepalab status` and the progress lines of `jepalab watch`.
#ifndef JEPALAB_CLI_LATEST_METRICS_H_
#define JEPALAB_CLI_LATEST_METRICS_H_

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/endpoints.h"

namespace jepalab::cli {

// Metric name -> its value at the run's newest step of that metric.
using RunMetrics = std::map<std::string, double>;

// Run id -> the latest values of `names` (empty: every metric of the run), from one
// metrics_service CompareRuns per run (MetricSummary.last), so that no run narrows another's
// metrics. A run metrics_service does not know (yet: NOT_FOUND) is left out. Any other failure
// stops at once with RpcError's status ("metrics CompareRuns (<address>): <CODE>: ..."), e.g.
// UNAVAILABLE when metrics_service is down.
absl::StatusOr<std::map<std::string, RunMetrics>> FetchLatestMetrics(
    const std::vector<std::string>& run_ids, const std::vector<std::string>& names,
    const Endpoints& e);

// One line (no newline) for stderr when the latest metrics could not be read, while the command
// still prints the scheduler's part: "jepalab: note: latest metrics not shown: " and the first
// line of `status`, which names the metrics address.
std::string LatestMetricsNote(const absl::Status& status, const Endpoints& e);

// The run's latest loss/total in `latest`, if there is one.
std::optional<double> LatestLoss(const std::map<std::string, RunMetrics>& latest,
                                 const std::string& run_id);

// Latest loss of each run for progress lines (`watch`, `plan watch`), from metrics_service. Once
// it fails (down), one note goes to `err` and the lines go on without loss: the scheduler's
// progress is the command's job, not the loss.
class LossFetcher {
 public:
  LossFetcher(const Endpoints& e, std::ostream& err) : e_(e), err_(err) {}

  std::map<std::string, RunMetrics> Fetch(const std::vector<std::string>& run_ids);

 private:
  const Endpoints& e_;
  std::ostream& err_;
  bool failed_ = false;
};

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_LATEST_METRICS_H_
