// In-memory MetricsClient for scheduler unit tests: histories and collapse summaries the test
// sets per run id, collapse events it emits, and a switch to make every call Unavailable.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_TESTING_FAKE_METRICS_CLIENT_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_TESTING_FAKE_METRICS_CLIENT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "scheduler_service/core/metrics_client.h"

namespace jepalab::scheduler::testing {

// Thread-safe. Unknown runs are NotFound (as metrics_service says for an unregistered run).
// WatchCollapseEvents replays every event emitted so far that matches its filter (a superset
// of include_current), then follows new ones; SetAvailable(false) breaks open watches.
class FakeMetricsClient : public MetricsClient {
 public:
  absl::StatusOr<std::vector<::jepalab::metrics::v1::Series>> GetRunHistory(
      const std::string& run_id, const std::vector<std::string>& names) override;
  absl::StatusOr<CollapseSummary> GetCollapseStatus(const std::string& run_id) override;
  absl::Status WatchCollapseEvents(const std::vector<std::string>& run_ids,
                                   const CollapseEventCallback& on_event,
                                   CancelToken* cancel) override;

  // --- Test controls ---
  // Delivers `event` to the open watches whose filter matches event.run_id (and to later ones).
  void EmitCollapseEvent(const ::jepalab::metrics::v1::CollapseEvent& event);
  // Waits until at least `count` watches whose filter names `run_id` are open.
  bool WaitForCollapseWatchers(const std::string& run_id, int count, absl::Duration timeout);
  // Waits until `on_event` has returned for at least `count` events (over every watch).
  bool WaitForDeliveredCollapseEvents(int count, absl::Duration timeout);
  // WatchCollapseEvents calls so far, accepted or not.
  int collapse_watch_calls() const;
  void SetHistory(const std::string& run_id, std::vector<::jepalab::metrics::v1::Series> series);
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
  std::vector<::jepalab::metrics::v1::CollapseEvent> events_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> open_watches_ ABSL_GUARDED_BY(mu_);  // by run id in the filter
  int collapse_watch_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int delivered_events_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t cancel_wakeups_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by cancel hooks
};

// A COLLAPSE_STATE_COLLAPSED event of detector `indicator` (and `encoder`) of `run_id` at `step`.
::jepalab::metrics::v1::CollapseEvent MakeCollapsedEvent(const std::string& run_id,
                                                         const std::string& indicator,
                                                         const std::string& encoder, int64_t step);

// A series `name` with one point per (step, value).
::jepalab::metrics::v1::Series MakeSeries(const std::string& name,
                                          const std::vector<std::pair<int64_t, double>>& points);

}  // namespace jepalab::scheduler::testing

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_TESTING_FAKE_METRICS_CLIENT_H_
