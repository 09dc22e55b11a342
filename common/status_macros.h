// Status propagation macros (Debian's Abseil 20220623 ships none).
#ifndef JEPALAB_COMMON_STATUS_MACROS_H_
#define JEPALAB_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define JEPALAB_STATUS_CONCAT_INNER_(a, b) a##b
#define JEPALAB_STATUS_CONCAT_(a, b) JEPALAB_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define JEPALAB_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status jepalab_status_ = (expr);           \
    if (!jepalab_status_.ok()) return jepalab_status_; \
  } while (0)

// `lhs = value of expr`, or returns its error status.
#define JEPALAB_ASSIGN_OR_RETURN(lhs, expr) \
  JEPALAB_ASSIGN_OR_RETURN_IMPL_(JEPALAB_STATUS_CONCAT_(jepalab_statusor_, __LINE__), lhs, expr)

#define JEPALAB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return statusor.status();             \
  lhs = std::move(statusor).value()

#endif  // JEPALAB_COMMON_STATUS_MACROS_H_
