#include "scheduler_service/core/experiment_store.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::testing::MakeTempDir;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

Experiment MakeExperiment(const std::string& id, v1::ExperimentState state) {
  Experiment experiment;
  experiment.set_id(id);
  experiment.set_name("exp");
  experiment.set_state(state);
  experiment.set_config_hash("abc123");
  auto* run = experiment.add_runs();
  run->set_run_id(id + "-s1");
  run->set_seed(1);
  run->set_trainer("127.0.0.1:50052");
  run->mutable_progress()->set_step(25);
  return experiment;
}

TEST(ExperimentStoreTest, RoundTripsAndReloadsAfterReopen) {
  const std::string dir = MakeTempDir("round_trip_");
  {
    JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, ExperimentStore::Open(dir));
    ASSERT_THAT(store->Put(MakeExperiment("b-0001", v1::EXPERIMENT_STATE_QUEUED)), IsOk());
    ASSERT_THAT(store->PutAll({MakeExperiment("a-0002", v1::EXPERIMENT_STATE_RUNNING),
                               MakeExperiment("c-0003", v1::EXPERIMENT_STATE_QUEUED)}),
                IsOk());
    // An update keeps the experiment's place in the listing.
    ASSERT_THAT(store->Put(MakeExperiment("b-0001", v1::EXPERIMENT_STATE_SUCCEEDED)), IsOk());
    JEPALAB_ASSERT_OK_AND_ASSIGN(Experiment got, store->Get("a-0002"));
    EXPECT_EQ(got.state(), v1::EXPERIMENT_STATE_RUNNING);
    EXPECT_EQ(got.runs(0).trainer(), "127.0.0.1:50052");
    EXPECT_EQ(got.runs(0).progress().step(), 25);
  }
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto reopened, ExperimentStore::Open(dir));
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::vector<Experiment> all, reopened->List());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id(), "b-0001");
  EXPECT_EQ(all[0].state(), v1::EXPERIMENT_STATE_SUCCEEDED);
  EXPECT_EQ(all[1].id(), "a-0002");
  EXPECT_EQ(all[2].id(), "c-0003");
  EXPECT_EQ(all[2].config_hash(), "abc123");
}

TEST(ExperimentStoreTest, UnknownIdIsNotFound) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, ExperimentStore::Open(MakeTempDir("not_found_")));
  EXPECT_THAT(store->Get("nope-0001"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope-0001")));
}

TEST(ExperimentStoreTest, SequenceSurvivesReopen) {
  const std::string dir = MakeTempDir("sequence_");
  {
    JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, ExperimentStore::Open(dir));
    EXPECT_EQ(store->NextSequence().value(), 1);
    EXPECT_EQ(store->NextSequence().value(), 2);
  }
  JEPALAB_ASSERT_OK_AND_ASSIGN(auto store, ExperimentStore::Open(dir));
  EXPECT_EQ(store->NextSequence().value(), 3);
}

TEST(ExperimentStoreTest, MissingDirectoryIsUnavailable) {
  EXPECT_THAT(ExperimentStore::Open(MakeTempDir("parent_") + "/missing/dir"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("scheduler.db")));
}

}  // namespace
}  // namespace jepalab::scheduler
