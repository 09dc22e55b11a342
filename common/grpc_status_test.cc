#include "common/grpc_status.h"

#include <string>

#include "gtest/gtest.h"

namespace jepalab::common {
namespace {

TEST(GrpcStatusTest, KeepsCodeAndMessage) {
  grpc::Status status = ToGrpcStatus(absl::InvalidArgumentError("optimizer.lr: must be > 0"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "optimizer.lr: must be > 0");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcStatusTest, EveryCodeRoundTrips) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status original(static_cast<absl::StatusCode>(code), "x");
    EXPECT_EQ(FromGrpcStatus(ToGrpcStatus(original)), original) << code;
  }
}

TEST(GrpcStatusTest, TruncatesHugeMessages) {
  grpc::Status status = ToGrpcStatus(absl::InternalError(std::string(100000, 'a')));
  EXPECT_LT(status.error_message().size(), 5000u);
  EXPECT_NE(status.error_message().find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace jepalab::common
