#include "scheduler_service/core/trainer_pool.h"

#include <memory>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler_service/core/testing/fake_trainer_client.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::scheduler::testing::FakeTrainerClient;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StatusIs;

std::vector<std::shared_ptr<TrainerClient>> Trainers(std::vector<std::string> addresses) {
  std::vector<std::shared_ptr<TrainerClient>> trainers;
  for (const std::string& address : addresses) {
    trainers.push_back(std::make_shared<FakeTrainerClient>(address));
  }
  return trainers;
}

TEST(TrainerPoolTest, OffersRoundRobinAfterTheLastTrainerThatTookARun) {
  TrainerPool pool(Trainers({"a:1", "b:1", "c:1"}), {}, absl::Milliseconds(5),
                   absl::Milliseconds(20));
  EXPECT_THAT(pool.OfferOrder(""), ElementsAre(0, 1, 2));
  pool.Accepted(1);
  EXPECT_THAT(pool.OfferOrder(""), ElementsAre(2, 0, 1));
  // A retry goes first to the trainer holding its checkpoints.
  EXPECT_THAT(pool.OfferOrder("a:1"), ElementsAre(0, 2, 1));
  EXPECT_EQ(pool.Find("b:1")->address(), "b:1");
  EXPECT_EQ(pool.Find("x:1"), nullptr);
}

TEST(TrainerPoolTest, BacksOffDoublingUpToTheMaximumAndResets) {
  TrainerPool pool(Trainers({"a:1"}), {}, absl::Milliseconds(5), absl::Milliseconds(20));
  EXPECT_EQ(pool.Refused(), absl::Milliseconds(5));
  EXPECT_EQ(pool.Refused(), absl::Milliseconds(10));
  EXPECT_EQ(pool.Refused(), absl::Milliseconds(20));
  EXPECT_EQ(pool.Refused(), absl::Milliseconds(20));
  pool.ResetBackoff();
  EXPECT_EQ(pool.Refused(), absl::Milliseconds(5));
  pool.Accepted(0);
  EXPECT_EQ(pool.Refused(), absl::Milliseconds(5));
}

TEST(TrainerPoolTest, ATrainerIsFullAtItsConfiguredCapacity) {
  TrainerPool pool(Trainers({"a:1", "b:1"}), {{"a:1", 2}}, absl::Milliseconds(5),
                   absl::Milliseconds(20));
  EXPECT_TRUE(pool.AtCapacity({{"a:1", 1}, {"b:1", 9}}).empty());  // b has no limit here
  EXPECT_THAT(pool.AtCapacity({{"a:1", 2}}), ElementsAre("a:1"));
}

TEST(TrainerPoolTest, ValidateNamesTheBadOption) {
  EXPECT_THAT(TrainerPool::Validate({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trainers")));
  EXPECT_THAT(TrainerPool::Validate(Trainers({"a:1", "a:1"}), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate address a:1")));
  EXPECT_THAT(TrainerPool::Validate(Trainers({"a:1"}), {{"x:1", 1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trainer_capacity: x:1=1")));
  EXPECT_THAT(TrainerPool::Validate(Trainers({"a:1"}), {{"a:1", 0}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trainer_capacity")));
  EXPECT_THAT(TrainerPool::Validate(Trainers({"a:1"}), {{"a:1", 1}}), ::testing::IsOk());
}

}  // namespace
}  // namespace jepalab::scheduler
