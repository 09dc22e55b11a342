// In-memory TrainerClient for scheduler unit tests: a trainer with a slot limit whose runs
// the test drives by hand (progress, terminal states, broken streams, lost runs).
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_TESTING_FAKE_TRAINER_CLIENT_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_TESTING_FAKE_TRAINER_CLIENT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "scheduler_service/core/trainer_client.h"

namespace jepalab::scheduler::testing {

// Thread-safe. Non-terminal runs occupy a slot; StartRun beyond `capacity` is
// ResourceExhausted. CancelRun ends the run CANCELLED at once (as a real trainer soon would).
// StartRun with resume restarts a run it has that ended FAILED or CANCELLED, as the real one.
class FakeTrainerClient : public TrainerClient {
 public:
  explicit FakeTrainerClient(std::string address, int capacity = 1);

  const std::string& address() const override { return address_; }
  absl::Status StartRun(const std::string& run_id, const std::string& experiment,
                        const ::jepalab::config::v1::TrainerConfig& config,
                        const std::string& config_hash,
                        const std::map<std::string, std::string>& labels, bool resume) override;
  absl::Status CancelRun(const std::string& run_id) override;
  absl::StatusOr<Run> GetRun(const std::string& run_id) override;
  absl::Status WatchRun(const std::string& run_id, const EventCallback& on_event,
                        CancelToken* cancel) override;

  // --- Test controls ---
  void SetCapacity(int capacity);
  // Down: every call returns Unavailable and open watches break.
  void SetAvailable(bool available);
  // Adds a run as if it had been started earlier (for restart tests).
  void AddRun(const Run& run);
  void EmitProgress(const std::string& run_id, int64_t step, int64_t total_steps);
  // Ends the run in `state` (terminal) with `message`.
  void Finish(const std::string& run_id, ::jepalab::common::v1::RunState state,
              const std::string& message = "");
  // Ends the run FAILED and retryable, as a trainer restarted under it reports it.
  void Interrupt(const std::string& run_id);
  // Forgets the run (GetRun/WatchRun then say NotFound) and breaks its watches.
  void ForgetRun(const std::string& run_id);
  // Breaks every open watch stream with Unavailable; runs continue.
  void BreakWatches();

  // Waits until `run_id` has been started here (true) or `timeout` passes (false).
  bool WaitForStarted(const std::string& run_id, absl::Duration timeout);
  // Waits until at least `count` runs have been started here (accepted StartRun calls).
  bool WaitForStartedRuns(int count, absl::Duration timeout);
  // Waits until StartRun has been called at least `count` times (accepted or not).
  bool WaitForStartAttempts(int count, absl::Duration timeout);
  // Waits until at least `count` watches of `run_id` are open.
  bool WaitForWatchers(const std::string& run_id, int count, absl::Duration timeout);

  std::vector<std::string> started_run_ids() const;
  std::vector<std::string> cancel_requests() const;
  int start_attempts() const;
  // StartRun calls with resume that restarted a run this fake already had.
  int resumed_starts(const std::string& run_id) const;
  // Config and labels a run was started with; NotFound if never started here.
  absl::StatusOr<::jepalab::config::v1::TrainerConfig> StartedConfig(
      const std::string& run_id) const;
  absl::StatusOr<std::map<std::string, std::string>> StartedLabels(const std::string& run_id) const;

 private:
  struct FakeRun {
    Run run;
    std::vector<RunEvent> events;  // everything since start, in order
    int open_watches = 0;
    ::jepalab::config::v1::TrainerConfig config;
    std::map<std::string, std::string> labels;
    int resumed_starts = 0;
  };

  void AppendEventLocked(FakeRun& run, RunEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int ActiveRunsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string address_;
  mutable absl::Mutex mu_;
  int capacity_ ABSL_GUARDED_BY(mu_);
  bool available_ ABSL_GUARDED_BY(mu_) = true;
  int64_t break_generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumped to break every open watch
  int64_t cancel_wakeups_ ABSL_GUARDED_BY(mu_) = 0;    // bumped by cancel hooks
  int start_attempts_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, FakeRun> runs_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> started_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> cancel_requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jepalab::scheduler::testing

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_TESTING_FAKE_TRAINER_CLIENT_H_
