// The reproduction scale's data (docs/configs.md, "The reproduction scale"): 5,000 generated
// tasks split 4,900 / 100, 76 micro-batches of 64 per epoch, as the sixth run's 95 of 512.
#include <string>

#include "common/testing/status_matchers.h"
#include "config/trainer_config.h"
#include "gtest/gtest.h"
#include "trainer_service/core/data/task_dataset.h"
#include "trainer_service/core/data/training_samples.h"

namespace jepalab::trainer {
namespace {

TEST(ReproDataTest, FiveThousandTasksGiveSeventySixMicroBatchesPerEpoch) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      const config::v1::TrainerConfig config,
      config::LoadTrainerConfigFile("configs/training/jepa_pretrain_a6000_repro.yaml"));
  JEPALAB_ASSERT_OK_AND_ASSIGN(const TrainingSamples loaded, LoadTrainingSamples(config, 2));
  ASSERT_EQ(loaded.samples.size(), 5000u);
  const DatasetSplit split =
      SplitSamples(static_cast<int64_t>(loaded.samples.size()), config.data().validation().split(),
                   config.data().validation().seed());
  EXPECT_EQ(split.train.size(), 4900u);
  EXPECT_EQ(split.validation.size(), 100u);
  const auto& t = config.training();
  const auto batches = EpochBatches(split.train, t.batch_size(), true, t.drop_last(), 0, 1);
  EXPECT_EQ(batches.size(), 76u);
  EXPECT_EQ(config::OptimizerStepsToRun(config, 76) * t.grad_accum_steps(), 760);
}

}  // namespace
}  // namespace jepalab::trainer
