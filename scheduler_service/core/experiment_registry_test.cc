#include "scheduler_service/core/experiment_registry.h"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "common/testing/fake_clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::scheduler {
namespace {

using ::jepalab::common::v1::RunState;
using ::testing::ElementsAre;

class ExperimentRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    data_dir_ = (std::filesystem::path(std::getenv("TEST_TMPDIR")) / info->name()).string();
    std::filesystem::remove_all(data_dir_);
    std::filesystem::create_directories(data_dir_);
    JEPALAB_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ExperimentStore> store,
                                 ExperimentStore::Open(data_dir_));
    registry_ =
        std::make_unique<ExperimentRegistry>(std::move(store), &clock_,
                                             /*progress_persist_interval=*/absl::Seconds(5));
  }

  // What a restarted scheduler would read.
  v1::Experiment Stored(const std::string& id) {
    auto store = ExperimentStore::Open(data_dir_);
    EXPECT_TRUE(store.ok());
    absl::StatusOr<v1::Experiment> experiment = (*store)->Get(id);
    EXPECT_TRUE(experiment.ok()) << experiment.status();
    return experiment.ok() ? *experiment : v1::Experiment();
  }

  static v1::Experiment Experiment(const std::string& id, const std::string& sweep_id) {
    v1::Experiment experiment;
    experiment.set_id(id);
    experiment.set_sweep_id(sweep_id);
    experiment.set_state(v1::EXPERIMENT_STATE_QUEUED);
    v1::RunRecord* run = experiment.add_runs();
    run->set_run_id(id + "-s1");
    run->set_state(RunState::RUN_STATE_QUEUED);
    return experiment;
  }

  std::string data_dir_;
  testing::FakeClock clock_;
  std::unique_ptr<ExperimentRegistry> registry_;
};

TEST_F(ExperimentRegistryTest, AdmitsFindsAndListsInSubmissionOrder) {
  ASSERT_THAT(registry_->Admit({Experiment("b-0001", "s"), Experiment("a-0002", "")}),
              ::testing::IsOk());
  ExperimentRegistry::Entry* entry = nullptr;
  RunRecord* run = registry_->FindRun("a-0002-s1", &entry);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(entry->experiment.id(), "a-0002");
  EXPECT_EQ(entry->version, 1);
  EXPECT_EQ(registry_->FindRun("nope-s1", &entry), nullptr);
  std::vector<std::string> ids;
  for (const auto& experiment : registry_->List({}, "")) ids.push_back(experiment.id());
  EXPECT_THAT(ids, ElementsAre("b-0001", "a-0002"));
  EXPECT_EQ(registry_->List({}, "s").size(), 1u);
  EXPECT_EQ(registry_->List({v1::EXPERIMENT_STATE_RUNNING}, "").size(), 0u);
}

TEST_F(ExperimentRegistryTest, ProgressIsPersistedAtMostEveryIntervalStateChangesAtOnce) {
  ASSERT_THAT(registry_->Admit({Experiment("a-0001", "")}), ::testing::IsOk());
  ExperimentRegistry::Entry* entry = nullptr;
  RunRecord* run = registry_->FindRun("a-0001-s1", &entry);
  run->set_trainer("trainer-a:1");
  run->set_state(RunState::RUN_STATE_RUNNING);
  registry_->Commit(*entry, /*persist=*/true);
  EXPECT_EQ(Stored("a-0001").state(), v1::EXPERIMENT_STATE_RUNNING);

  run->mutable_progress()->set_step(10);
  clock_.Advance(absl::Seconds(5) - absl::Milliseconds(1));
  registry_->Commit(*entry, /*persist=*/false);
  EXPECT_EQ(entry->version, 3);
  EXPECT_EQ(Stored("a-0001").runs(0).progress().step(), 0);  // not due yet
  clock_.AdvanceMillis(1);
  registry_->Commit(*entry, /*persist=*/false);
  EXPECT_EQ(Stored("a-0001").runs(0).progress().step(), 10);

  run->set_state(RunState::RUN_STATE_SUCCEEDED);
  registry_->Commit(*entry, /*persist=*/false);  // the experiment's state changes: written
  const v1::Experiment stored = Stored("a-0001");
  EXPECT_EQ(stored.state(), v1::EXPERIMENT_STATE_SUCCEEDED);
  EXPECT_EQ(stored.finished_unix_ms(), clock_.NowUnixMillis());
}

TEST_F(ExperimentRegistryTest, CountsActiveRunsPerTrainer) {
  v1::Experiment experiment = Experiment("a-0001", "");
  experiment.mutable_runs(0)->set_trainer("t1");
  experiment.mutable_runs(0)->set_state(RunState::RUN_STATE_RUNNING);
  v1::RunRecord* ended = experiment.add_runs();
  ended->set_run_id("a-0001-s2");
  ended->set_trainer("t1");
  ended->set_state(RunState::RUN_STATE_FAILED);
  registry_->Load(experiment);
  EXPECT_EQ(registry_->ActiveRunsByTrainer(), (std::map<std::string, int>{{"t1", 1}}));
  EXPECT_EQ(registry_->size(), 1u);
}

}  // namespace
}  // namespace jepalab::scheduler
