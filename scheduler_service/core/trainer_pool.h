// Trainer choice: which trainers a run is offered to and in what order (the one holding its
// checkpoints first, then round-robin), which are at their configured capacity, and how long
// dispatch backs off when every trainer refused.
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_TRAINER_POOL_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_TRAINER_POOL_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "scheduler_service/core/trainer_client.h"

namespace jepalab::scheduler {

// A trainer call that may work later: ResourceExhausted (full), Unavailable or
// DeadlineExceeded (down).
bool IsRetryableTrainerError(const absl::Status& status);

// Thread-compatible: the Scheduler calls it under its mutex. Shares the trainer clients.
class TrainerPool {
 public:
  // InvalidArgument naming "trainers" (none, null, duplicate address) or "trainer_capacity"
  // (an unknown address or a capacity below 1).
  static absl::Status Validate(const std::vector<std::shared_ptr<TrainerClient>>& trainers,
                               const std::map<std::string, int>& capacity);

  // `capacity`: at most this many active runs on a trainer (by address); absent: no limit
  // here. Backoff starts at `backoff` and doubles up to `max_backoff`.
  TrainerPool(std::vector<std::shared_ptr<TrainerClient>> trainers,
              std::map<std::string, int> capacity, absl::Duration backoff,
              absl::Duration max_backoff);

  const std::vector<std::shared_ptr<TrainerClient>>& trainers() const { return trainers_; }
  // Null if no trainer has `address`.
  std::shared_ptr<TrainerClient> Find(const std::string& address) const;

  // Indexes into trainers() in the order to offer a run: `resume_trainer` (where a retried
  // run's checkpoints are) first, then round-robin from after the last trainer that took one.
  std::vector<size_t> OfferOrder(const std::string& resume_trainer) const;
  // Addresses whose `active` run count reached their capacity.
  std::set<std::string> AtCapacity(const std::map<std::string, int>& active) const;

  // Trainer `index` took a run: the next offer starts after it, and the backoff resets.
  void Accepted(size_t index);
  // Every trainer refused: returns how long to wait before the next offer, and doubles it.
  absl::Duration Refused();
  // A slot freed up: the next refusal waits the initial backoff again.
  void ResetBackoff() { backoff_ = initial_backoff_; }

 private:
  const std::vector<std::shared_ptr<TrainerClient>> trainers_;
  const std::map<std::string, int> capacity_;
  const absl::Duration initial_backoff_;
  const absl::Duration max_backoff_;
  absl::Duration backoff_;
  size_t next_ = 0;  // round-robin position
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_TRAINER_POOL_H_
