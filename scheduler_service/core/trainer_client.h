// The scheduler's view of one trainer_service instance: start, cancel, inspect and follow runs.
// The gRPC implementation lives in scheduler_service/server/; unit tests use FakeTrainerClient.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_TRAINER_CLIENT_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_TRAINER_CLIENT_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/config/trainer_config.pb.h"
#include "proto/trainer.pb.h"
#include "scheduler_service/core/cancel_token.h"

namespace jepalab::scheduler {

// One trainer. Implementations are thread-safe; calls may block for an RPC round trip.
class TrainerClient {
 public:
  using Run = ::jepalab::trainer::v1::Run;
  using RunEvent = ::jepalab::trainer::v1::RunEvent;
  using EventCallback = std::function<void(const RunEvent&)>;

  virtual ~TrainerClient() = default;

  // host:port, recorded in RunRecord.trainer.
  virtual const std::string& address() const = 0;

  // Starts `run_id` with its fully resolved config and that config's hash (as resolved at
  // submission; the trainer refuses a config that does not hash to it); `resume` (a retry): a run
  // the trainer already has and that ended FAILED or CANCELLED starts again from its latest
  // checkpoint. ResourceExhausted: the trainer is full, try later. Unavailable/DeadlineExceeded:
  // the trainer is down. AlreadyExists: the trainer already has this run id (with `resume`: still
  // active or finished with a result). InvalidArgument: the trainer rejected the request.
  virtual absl::Status StartRun(const std::string& run_id, const std::string& experiment,
                                const ::jepalab::config::v1::TrainerConfig& config,
                                const std::string& config_hash,
                                const std::map<std::string, std::string>& labels, bool resume) = 0;

  // NotFound: unknown run. FailedPrecondition: it already finished.
  virtual absl::Status CancelRun(const std::string& run_id) = 0;

  // NotFound: the trainer does not know the run (e.g. it lost its data dir).
  virtual absl::StatusOr<Run> GetRun(const std::string& run_id) = 0;

  // Blocks, calling `on_event` (on the calling thread) with the current state first and then
  // every state change and progress update: state and progress only, no metrics batches (the
  // scheduler keeps no metrics; metrics_service owns them). Returns OK once the stream ends
  // after the run's terminal state, Cancelled if `cancel` fired, and the RPC error (Unavailable,
  // NotFound, ...) if the stream could not start or broke.
  virtual absl::Status WatchRun(const std::string& run_id, const EventCallback& on_event,
                                CancelToken* cancel) = 0;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_TRAINER_CLIENT_H_
