// gMock matchers for absl::Status and absl::StatusOr, modelled on Abseil's status_matchers.h.
//   EXPECT_THAT(status, IsOk());
//   EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.lr")));
#ifndef JEPALAB_COMMON_TESTING_STATUS_MATCHERS_H_
#define JEPALAB_COMMON_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace testing {
namespace jepalab_internal {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace jepalab_internal

MATCHER(IsOk, "is OK") {
  const absl::Status& status = jepalab_internal::GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status.ToString();
  return status.ok();
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& status = jepalab_internal::GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  if (status.code() != code) return false;
  return ::testing::Matches(message_matcher)(std::string(status.message()));
}

}  // namespace testing

// ASSERT that a Status (or a StatusOr's status) is OK, printing it otherwise.
#define JEPALAB_ASSERT_OK(expr) ASSERT_THAT((expr), ::testing::IsOk())

#define JEPALAB_ASSERT_OK_AND_ASSIGN(lhs, expr)                  \
  auto JEPALAB_STATUS_CONCAT_(assign_or_, __LINE__) = (expr);    \
  ASSERT_TRUE(JEPALAB_STATUS_CONCAT_(assign_or_, __LINE__).ok()) \
      << JEPALAB_STATUS_CONCAT_(assign_or_, __LINE__).status();  \
  lhs = std::move(JEPALAB_STATUS_CONCAT_(assign_or_, __LINE__)).value()

#ifndef JEPALAB_STATUS_CONCAT_
#define JEPALAB_STATUS_CONCAT_INNER_(a, b) a##b
#define JEPALAB_STATUS_CONCAT_(a, b) JEPALAB_STATUS_CONCAT_INNER_(a, b)
#endif

#endif  // JEPALAB_COMMON_TESTING_STATUS_MATCHERS_H_
