#include "trainer_service/core/trainer.h"

#include <map>

#include "absl/synchronization/mutex.h"
#include "common/metric_names.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "trainer_service/core/trainer_config.h"

namespace jepalab::trainer {
namespace {

namespace names = ::jepalab::metric_names;
using ::testing::HasSubstr;
using ::testing::StatusIs;

// A few hundred small grids, a 16-wide model: each run takes well under a second.
constexpr char kTinyConfig[] = R"(
seed: 5
data:
  context_window: 2
  validation: {split: 0.1, seed: 3}
  generator: {seed: 11, num_atomic: 160, num_sequential: 96, min_grid_size: 3, max_grid_size: 6,
              min_colors: 3, max_colors: 5}
object_encoder: {hidden_dim: 16}
optimizer: {lr: 3.0e-3, weight_decay: 0.0}
training:
  batch_size: 16
  epochs: 6
  num_threads: 1
  grad_clip: {max_norm: 1.0}
  lr_scheduler: {name: constant, warmup_steps: 0}
  early_stopping: {enabled: false}
loss:
  temperature: 0.1
  temperature_min: 0.05
  temperature_max: 0.2
  queue_size: 16
  projection_dim: 16
  target_ema_decay: 0.9
)";

TrainerConfig TinyConfig(const std::vector<std::string>& overrides = {}) {
  auto config = LoadTrainerConfig(kTinyConfig, "tiny.yaml", overrides);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

struct Point {
  int64_t step;
  int32_t epoch;
  std::string name;
  double value;
};

class RecordingSink : public MetricsSink {
 public:
  void Report(int64_t step, int32_t epoch, const MetricValues& values) override {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, value] : values) points_.push_back({step, epoch, name, value});
  }
  void Flush() override {}
  std::vector<double> Series(const std::string& name) {
    absl::MutexLock lock(&mu_);
    std::vector<double> out;
    for (const auto& p : points_) {
      if (p.name == name) out.push_back(p.value);
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<Point> points_;
};

class RecordingListener : public ProgressListener {
 public:
  void OnStart(const std::string& device, const RunProgress& p) override {
    device_ = device;
    start_ = p;
  }
  void OnProgress(const RunProgress& p) override { last_ = p; }
  std::string device_;
  RunProgress start_, last_;
};

double Mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

TEST(TrainerTest, LossDecreasesAndTemperatureStaysInBounds) {
  RecordingSink sink;
  RecordingListener listener;
  auto outcome = RunTraining(TinyConfig(), {"tiny"}, &sink, &listener, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(outcome->device, "cpu");
  // 256 tasks, 26 for validation, 230 train -> 14 batches of 16 (drop_last) x 6 epochs.
  EXPECT_EQ(outcome->total_steps, 84);
  EXPECT_EQ(outcome->steps, 84);
  EXPECT_EQ(listener.device_, "cpu");
  EXPECT_EQ(listener.start_.total_steps(), 84);
  EXPECT_EQ(listener.last_.step(), 84);
  EXPECT_EQ(listener.last_.epoch(), 6);
  EXPECT_GT(listener.last_.steps_per_second(), 0);

  const std::vector<double> loss = sink.Series(names::kLossTotal);
  ASSERT_EQ(loss.size(), 84u);
  // The queue (16) is full from step 2 on, so chance level is ln(16 + 16) = 3.47 from then.
  const double first = Mean(loss, 1, 6), last = Mean(loss, loss.size() - 5, loss.size());
  EXPECT_LT(last, first - 0.3) << "first " << first << " last " << last;
  EXPECT_EQ(sink.Series(names::kLossInfoNce), loss);
  for (double t : sink.Series(names::kTemperature)) {
    EXPECT_GE(t, 0.05 - 1e-9);
    EXPECT_LE(t, 0.2 + 1e-9);
  }
  for (double lr : sink.Series(names::kLearningRate)) EXPECT_DOUBLE_EQ(lr, 3e-3);
  const auto fill = sink.Series(names::kQueueFill);
  EXPECT_DOUBLE_EQ(fill.front(), 16);
  EXPECT_DOUBLE_EQ(fill.back(), 16);
  EXPECT_EQ(sink.Series(names::kGradNorm).size(), 84u);
  EXPECT_EQ(sink.Series(names::kStepTimeSeconds).size(), 84u);
  EXPECT_EQ(sink.Series(names::kEpoch), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  const auto val = sink.Series(names::kValLoss);
  ASSERT_EQ(val.size(), 6u);
  EXPECT_LT(val.back(), val.front());
  EXPECT_EQ(sink.Series(names::kTrainLoss).size(), 6u);
}

TEST(TrainerTest, SameSeedSameLosses) {
  const TrainerConfig config = TinyConfig({"training.max_steps=6"});
  RecordingSink a, b;
  ASSERT_THAT(RunTraining(config, {"a"}, &a, nullptr, nullptr), ::testing::IsOk());
  ASSERT_THAT(RunTraining(config, {"b"}, &b, nullptr, nullptr), ::testing::IsOk());
  EXPECT_EQ(a.Series(names::kLossTotal).size(), 6u);
  EXPECT_EQ(a.Series(names::kLossTotal), b.Series(names::kLossTotal));
}

TEST(TrainerTest, MaxStepsAndGradAccumulationCapTheRun) {
  RecordingSink sink;
  auto outcome = RunTraining(TinyConfig({"training.max_steps=7", "training.grad_accum_steps=3"}),
                             {"cap"}, &sink, nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(outcome->total_steps, 7);  // ceil(14 / 3) * 6 = 30, capped at 7
  EXPECT_EQ(outcome->steps, 7);
  EXPECT_EQ(outcome->epochs, 2);  // 5 steps per epoch with accumulation 3
  EXPECT_EQ(sink.Series(names::kValLoss).size(), 2u);
}

TEST(TrainerTest, EarlyStopping) {
  auto outcome = RunTraining(
      TinyConfig({"training.early_stopping.enabled=true", "training.early_stopping.patience=1",
                  "training.early_stopping.min_delta=100"}),
      {"es"}, nullptr, nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_EARLY_STOPPED);
  EXPECT_EQ(outcome->epochs, 2);
  EXPECT_THAT(outcome->message, HasSubstr("did not improve"));
}

TEST(TrainerTest, NanFaultDiverges) {
  auto outcome = RunTraining(TinyConfig({"debug.fault=nan", "debug.fault_at_step=3"}), {"nan"},
                             nullptr, nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_DIVERGED);
  EXPECT_EQ(outcome->steps, 2);
  EXPECT_THAT(outcome->message, HasSubstr("loss/info_nce is nan at step 3"));
}

TEST(TrainerTest, TorchErrorBecomesInternalStatus) {
  auto outcome = RunTraining(TinyConfig({"debug.fault=torch_error", "debug.fault_at_step=2"}),
                             {"torch"}, nullptr, nullptr, nullptr);
  EXPECT_THAT(outcome, StatusIs(absl::StatusCode::kInternal, HasSubstr("debug.fault=torch_error at step 2")));
}

TEST(TrainerTest, CancelEndsCancelled) {
  std::atomic<bool> cancel{true};
  auto outcome = RunTraining(TinyConfig(), {"cancel"}, nullptr, nullptr, &cancel);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_CANCELLED);
  EXPECT_EQ(outcome->steps, 0);
}

TEST(TrainerTest, InvalidAndUnsupportedConfigs) {
  TrainerConfig bad = TinyConfig();
  bad.mutable_optimizer()->set_lr(-1);
  EXPECT_THAT(RunTraining(bad, {"bad"}, nullptr, nullptr, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.lr")));
  TrainerConfig manifest = TinyConfig();
  manifest.set_dataset_manifest("data/x.jsonl");
  EXPECT_THAT(RunTraining(manifest, {"m"}, nullptr, nullptr, nullptr),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("dataset_manifest")));
}

}  // namespace
}  // namespace jepalab::trainer
