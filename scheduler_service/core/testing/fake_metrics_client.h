// In-memory MetricsClient for scheduler unit tests: histories and collapse summaries the test
// sets per run id, and a switch to make every call Unavailable.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_TESTING_FAKE_METRICS_CLIENT_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_TESTING_FAKE_METRICS_CLIENT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "scheduler_service/core/metrics_client.h"

namespace jepalab::scheduler::testing {

// Thread-safe. Unknown runs are NotFound (as metrics_service says for an unregistered run).
class FakeMetricsClient : public MetricsClient {
 public:
  absl::StatusOr<std::vector<::jepalab::metrics::v1::Series>> GetRunHistory(
      const std::string& run_id, const std::vector<std::string>& names) override;
  absl::StatusOr<CollapseSummary> GetCollapseStatus(const std::string& run_id) override;

  // --- Test controls ---
  void SetHistory(const std::string& run_id,
                  std::vector<::jepalab::metrics::v1::Series> series);
  void SetCollapse(const std::string& run_id, CollapseSummary collapse);
  void SetAvailable(bool available);
  // Run ids GetRunHistory was asked about, in order.
  std::vector<std::string> history_requests() const;

 private:
  mutable absl::Mutex mu_;
  bool available_ ABSL_GUARDED_BY(mu_) = true;
  std::map<std::string, std::vector<::jepalab::metrics::v1::Series>> histories_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, CollapseSummary> collapses_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> history_requests_ ABSL_GUARDED_BY(mu_);
};

// A series `name` with one point per (step, value).
::jepalab::metrics::v1::Series MakeSeries(const std::string& name,
                                          const std::vector<std::pair<int64_t, double>>& points);

}  // namespace jepalab::scheduler::testing

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_TESTING_FAKE_METRICS_CLIENT_H_
