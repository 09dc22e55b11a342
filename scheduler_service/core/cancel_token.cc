#include "scheduler_service/core/cancel_token.h"

#include <utility>

namespace jepalab::scheduler {

void CancelToken::Cancel() {
  absl::MutexLock lock(&mu_);
  if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
  if (hook_) hook_();
}

void CancelToken::SetOnCancel(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  hook_ = std::move(hook);
  // Cancel() may have run before the hook existed: honour it now.
  if (cancelled() && hook_) hook_();
}

void CancelToken::ClearOnCancel() {
  absl::MutexLock lock(&mu_);
  hook_ = nullptr;
}

}  // namespace jepalab::scheduler
