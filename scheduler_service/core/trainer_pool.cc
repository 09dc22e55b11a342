#include "scheduler_service/core/trainer_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace jepalab::scheduler {

bool IsRetryableTrainerError(const absl::Status& status) {
  return absl::IsResourceExhausted(status) || absl::IsUnavailable(status) ||
         absl::IsDeadlineExceeded(status);
}

absl::Status TrainerPool::Validate(const std::vector<std::shared_ptr<TrainerClient>>& trainers,
                                   const std::map<std::string, int>& capacity) {
  if (trainers.empty()) {
    return absl::InvalidArgumentError("trainers: at least one trainer is required");
  }
  std::set<std::string> addresses;
  for (const auto& trainer : trainers) {
    if (trainer == nullptr) return absl::InvalidArgumentError("trainers: null trainer client");
    if (!addresses.insert(trainer->address()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("trainers: duplicate address ", trainer->address()));
    }
  }
  for (const auto& [address, slots] : capacity) {
    if (addresses.count(address) == 0 || slots < 1) {
      return absl::InvalidArgumentError(absl::StrCat("trainer_capacity: ", address, "=", slots,
                                                     " (must name a trainer and be >= 1)"));
    }
  }
  return absl::OkStatus();
}

TrainerPool::TrainerPool(std::vector<std::shared_ptr<TrainerClient>> trainers,
                         std::map<std::string, int> capacity, absl::Duration backoff,
                         absl::Duration max_backoff)
    : trainers_(std::move(trainers)),
      capacity_(std::move(capacity)),
      initial_backoff_(backoff),
      max_backoff_(max_backoff),
      backoff_(backoff) {}

std::shared_ptr<TrainerClient> TrainerPool::Find(const std::string& address) const {
  for (const auto& trainer : trainers_) {
    if (trainer->address() == address) return trainer;
  }
  return nullptr;
}

std::vector<size_t> TrainerPool::OfferOrder(const std::string& resume_trainer) const {
  const size_t n = trainers_.size();
  std::vector<size_t> order;
  for (size_t i = 0; i < n; ++i) {
    if (trainers_[i]->address() == resume_trainer) order.push_back(i);
  }
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (next_ + i) % n;
    if (trainers_[index]->address() != resume_trainer) order.push_back(index);
  }
  return order;
}

std::set<std::string> TrainerPool::AtCapacity(const std::map<std::string, int>& active) const {
  std::set<std::string> full;
  for (const auto& [address, slots] : capacity_) {
    auto it = active.find(address);
    if (it != active.end() && it->second >= slots) full.insert(address);
  }
  return full;
}

void TrainerPool::Accepted(size_t index) {
  next_ = (index + 1) % trainers_.size();
  backoff_ = initial_backoff_;
}

absl::Duration TrainerPool::Refused() {
  const absl::Duration wait = backoff_;
  backoff_ = std::min(backoff_ * 2, max_backoff_);
  return wait;
}

}  // namespace jepalab::scheduler
