#include "trainer_service/core/trainer.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <tuple>

#include "absl/synchronization/mutex.h"
#include "common/metric_names.h"
#include "common/testing/status_matchers.h"
#include "config/trainer_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "trainer_service/core/checkpoint.h"
#include "trainer_service/core/model/jepa_model.h"

namespace jepalab::trainer {

using ::jepalab::config::LoadTrainerConfig;
using ::jepalab::config::TrainerConfig;
namespace {

namespace names = ::jepalab::metric_names;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StatusIs;

// A few hundred small grids, a 32-wide model without VQ: each run takes well under a second.
constexpr char kTinyConfig[] = R"(
seed: 5
data:
  context_window: 2
  validation: {split: 0.1, seed: 3}
  generator: {seed: 11, num_atomic: 160, num_sequential: 96, min_grid_size: 3, max_grid_size: 6,
              min_colors: 3, max_colors: 5}
object_encoder: {hidden_dim: 32, vq_enabled: false, relational_layers: 1, relational_heads: 2}
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
  projection_dim: 32
  target_ema_decay: 0.5
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
  // The steps at which `name` was reported, in order.
  std::vector<int64_t> Steps(const std::string& name) {
    absl::MutexLock lock(&mu_);
    std::vector<int64_t> out;
    for (const auto& p : points_) {
      if (p.name == name) out.push_back(p.step);
    }
    return out;
  }
  bool HasPrefix(const std::string& prefix) {
    absl::MutexLock lock(&mu_);
    for (const auto& p : points_) {
      if (p.name.rfind(prefix, 0) == 0) return true;
    }
    return false;
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
  auto outcome = RunTraining(TinyConfig({"training.epochs=12", "optimizer.lr=1e-3"}), {"tiny"},
                             &sink, &listener, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(outcome->device, "cpu");
  // 256 tasks, 26 for validation, 230 train -> 14 batches of 16 (drop_last) x 12 epochs.
  EXPECT_EQ(outcome->total_steps, 168);
  EXPECT_EQ(outcome->steps, 168);
  EXPECT_EQ(listener.device_, "cpu");
  EXPECT_EQ(listener.start_.total_steps(), 168);
  EXPECT_EQ(listener.last_.step(), 168);
  EXPECT_EQ(listener.last_.epoch(), 12);
  EXPECT_GT(listener.last_.steps_per_second(), 0);

  const std::vector<double> loss = sink.Series(names::kLossTotal);
  ASSERT_EQ(loss.size(), 168u);
  // The queue (16) is full from step 2 on, so chance level is ln(16 + 16) = 3.47 from then.
  const double first = Mean(loss, 1, 15), last = Mean(loss, loss.size() - 14, loss.size());
  EXPECT_LT(last, first - 0.2) << "first " << first << " last " << last;
  EXPECT_EQ(sink.Series(names::kLossInfoNce), loss);
  for (double t : sink.Series(names::kTemperature)) {
    EXPECT_GE(t, 0.05 - 1e-9);
    EXPECT_LE(t, 0.2 + 1e-9);
  }
  for (double lr : sink.Series(names::kLearningRate)) EXPECT_DOUBLE_EQ(lr, 1e-3);
  const auto fill = sink.Series(names::kQueueFill);
  EXPECT_DOUBLE_EQ(fill.front(), 16);
  EXPECT_DOUBLE_EQ(fill.back(), 16);
  EXPECT_EQ(sink.Series(names::kGradNorm).size(), 168u);
  EXPECT_EQ(sink.Series(names::kStepTimeSeconds).size(), 168u);
  EXPECT_EQ(sink.Series(names::kEpoch),
            (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  const auto val = sink.Series(names::kValLoss);
  ASSERT_EQ(val.size(), 12u);
  EXPECT_LT(val.back(), val.front());
  EXPECT_EQ(sink.Series(names::kTrainLoss).size(), 12u);
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

// A time-compressed run: it ends after stop_after_epochs, on the LR schedule of all `epochs`.
TEST(TrainerTest, StopAfterEpochsEndsTheRunOnTheFullSchedule) {
  const std::vector<std::string> cosine = {"training.lr_scheduler.name=cosine",
                                           "training.lr_scheduler.warmup_steps=4"};
  std::vector<std::string> stopped_overrides = cosine;
  stopped_overrides.push_back("training.stop_after_epochs=2");
  RecordingSink full, stopped;
  RecordingListener listener;
  ASSERT_THAT(RunTraining(TinyConfig(cosine), {"full"}, &full, nullptr, nullptr),
              ::testing::IsOk());
  auto outcome =
      RunTraining(TinyConfig(stopped_overrides), {"stopped"}, &stopped, &listener, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(outcome->steps, 28);  // 14 steps per epoch
  EXPECT_EQ(outcome->total_steps, 28);
  EXPECT_EQ(listener.last_.total_epochs(), 2);
  EXPECT_EQ(stopped.Series(names::kValLoss).size(), 2u);
  const std::vector<double> full_lr = full.Series(names::kLearningRate);
  ASSERT_EQ(full_lr.size(), 84u);
  EXPECT_EQ(stopped.Series(names::kLearningRate),
            std::vector<double>(full_lr.begin(), full_lr.begin() + 28));
}

// A trainer running several runs at once gives each its share of the cores unless the config
// asks for a number of threads itself.
TEST(TrainerTest, DefaultThreadsApplyOnlyWhenTheConfigLeavesThreadsAtZero) {
  RunContext context{"threads"};
  context.default_threads = 2;
  ASSERT_THAT(RunTraining(TinyConfig({"training.max_steps=1", "training.num_threads=0"}), context,
                          nullptr, nullptr, nullptr),
              ::testing::IsOk());
  EXPECT_EQ(at::get_num_threads(), 2);
  ASSERT_THAT(RunTraining(TinyConfig({"training.max_steps=1", "training.num_threads=1"}), context,
                          nullptr, nullptr, nullptr),
              ::testing::IsOk());
  EXPECT_EQ(at::get_num_threads(), 1);
}

TEST(TrainerTest, StopAfterEpochsBeyondEpochsIsRefused) {
  EXPECT_THAT(
      LoadTrainerConfig(kTinyConfig, "tiny.yaml", {"training.stop_after_epochs=7"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("training.stop_after_epochs")));
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
  EXPECT_THAT(outcome, StatusIs(absl::StatusCode::kInternal,
                                HasSubstr("debug.fault=torch_error at step 2")));
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
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("data/x.jsonl")));
  TrainerConfig shards = TinyConfig();
  shards.mutable_pre_tokenized()->set_path("shards/");
  EXPECT_THAT(RunTraining(shards, {"p"}, nullptr, nullptr, nullptr),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("pre_tokenized.path")));
}

// Every model part and loss term on: VQ (reference switches), relational layers, SIGReg,
// invariance, relational loss; diagnostics every 5 micro-batches.
std::vector<std::string> FullOverrides(std::vector<std::string> more = {}) {
  std::vector<std::string> o = {"object_encoder.vq_enabled=true",
                                "object_encoder.num_embeddings=32",
                                "object_encoder.ema_decay=0.9",
                                "object_encoder.vq_refresh_enabled=true",
                                "object_encoder.vq_refresh_interval=7",
                                "compat.vq_loss_in_objective=false",
                                "compat.vq_update_timing=per_call",
                                "compat.vq_refresh_threshold=total_mass_share",
                                "compat.vq_ema_init=codebook_copy",
                                "compat.vq_revival=reference",
                                "compat.vq_swapped_loss_weighting=true",
                                "sigreg.weight=0.1",
                                "sigreg.num_slices=8",
                                "invariance.color_weight=0.1",
                                "invariance.translation_weight=0.05",
                                "invariance.translation_max_delta=0.1",
                                "invariance.symmetry_weight=0.05",
                                "relational_loss.weight=0.05",
                                "relational_loss.context_self_weight=0.025",
                                "diagnostics.embedding_metrics.interval=5",
                                "diagnostics.embedding_metrics.max_samples=64"};
  o.insert(o.end(), more.begin(), more.end());
  return o;
}

TEST(TrainerTest, FullModelReportsEveryTermAndDiagnostics) {
  RecordingSink sink;
  auto outcome = RunTraining(TinyConfig(FullOverrides({"training.max_steps=12"})), {"full"}, &sink,
                             nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_SUCCEEDED) << outcome->message;
  EXPECT_EQ(outcome->steps, 12);
  const auto total = sink.Series(names::kLossTotal);
  ASSERT_EQ(total.size(), 12u);
  const auto nce = sink.Series(names::kLossInfoNce), inv = sink.Series(names::kLossInvariance),
             rel = sink.Series(names::kLossRelational), sig = sink.Series(names::kLossSigreg),
             vq = sink.Series(names::kLossVq);
  for (const auto* series : {&nce, &inv, &rel, &sig, &vq}) ASSERT_EQ(series->size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    for (const auto* series : {&nce, &inv, &rel, &sig, &vq})
      EXPECT_TRUE(std::isfinite((*series)[i]));
    EXPECT_GT(inv[i], 0);
    EXPECT_GT(sig[i], 0);
    // compat.vq_loss_in_objective=false: reported, not added (reference §0.1).
    EXPECT_NEAR(total[i], nce[i] + inv[i] + rel[i] + sig[i], 1e-4);
  }
  // Events after observations 5 and 10, then the final partial window (2).
  const std::string rank =
      std::string(names::kDiagnosticsPrefix) + "context/" + names::kStatEffectiveRank;
  const auto ranks = sink.Series(rank);
  ASSERT_EQ(ranks.size(), 3u);
  for (double r : ranks) {
    EXPECT_GE(r, 1.0);
    EXPECT_LE(r, 32.0 + 1e-6);
  }
  EXPECT_EQ(
      sink.Series(std::string(names::kDiagnosticsPrefix) + "target/" + names::kStatRankMe).size(),
      3u);
  const auto usage = sink.Series(names::kVqUsageRatio);
  ASSERT_EQ(usage.size(), 3u);
  for (double u : usage) {
    EXPECT_GT(u, 0);
    EXPECT_LE(u, 1);
  }
  EXPECT_EQ(sink.Series(names::kVqPerplexity).size(), 3u);
  EXPECT_EQ(sink.Series(names::kVqUnreachableCodes).size(), 3u);
  // Per-call timing with 7 VQ calls per micro-batch: the interval-7 check fires every batch.
  const auto refreshes = sink.Series(names::kVqRefreshes);
  ASSERT_EQ(refreshes.size(), 3u);
  EXPECT_GT(refreshes.back(), 0);
}

double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

std::string RefreshName(const char* vq, const char* count) {
  return std::string(vq) + names::kVqRefreshInfix + count;
}

// The VQ diagnostics cover every call of the window's micro-batches, for the online and the
// target VQ: 7 online calls per micro-batch (context + 3 invariance pairs), 1 target call.
TEST(TrainerTest, VqDiagnosticsAggregateTheWindowForBothCodebooks) {
  RecordingSink sink;
  auto outcome = RunTraining(TinyConfig(FullOverrides({"training.max_steps=12"})), {"vq-window"},
                             &sink, nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_SUCCEEDED) << outcome->message;
  // Events after micro-batches 5 and 10, then the final partial window of 2.
  EXPECT_THAT(sink.Series(names::kVqWindowCalls), ElementsAre(35, 35, 14));
  EXPECT_THAT(sink.Series(names::kVqTargetWindowCalls), ElementsAre(5, 5, 2));
  for (const auto& [usage_name, active_name, dead_name, perplexity_name] :
       {std::tuple(names::kVqUsageRatio, names::kVqActiveCodes, names::kVqDeadCodes,
                   names::kVqPerplexity),
        std::tuple(names::kVqTargetUsageRatio, names::kVqTargetActiveCodes,
                   names::kVqTargetDeadCodes, names::kVqTargetPerplexity)}) {
    const auto usage = sink.Series(usage_name), active = sink.Series(active_name),
               dead = sink.Series(dead_name), perplexity = sink.Series(perplexity_name);
    ASSERT_EQ(usage.size(), 3u) << usage_name;
    ASSERT_EQ(active.size(), 3u);
    ASSERT_EQ(dead.size(), 3u);
    ASSERT_EQ(perplexity.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_DOUBLE_EQ(usage[i], active[i] / 32) << usage_name;
      EXPECT_DOUBLE_EQ(active[i] + dead[i], 32);  // dead: no row in the window
      EXPECT_GE(perplexity[i], 1.0 - 1e-9);
      EXPECT_LE(perplexity[i], active[i] + 1e-9);
    }
  }
  EXPECT_EQ(sink.Series(names::kVqTargetUnreachableCodes).size(), 3u);
  EXPECT_EQ(sink.Series(names::kVqTargetRefreshes).size(), 3u);
  EXPECT_EQ(sink.Series(names::kVqValidSlotUsageRatio).size(), 3u);
}

// Without a target encoder the online VQ also encodes the targets (8 calls per micro-batch) and
// there are no vq_target series. The reference's valid-slot usage counts a subset of the rows
// the window saw, so it can never exceed the window's.
TEST(TrainerTest, VqWindowWithoutTargetEncoderCoversTheValidSlotUsage) {
  RecordingSink sink;
  auto outcome = RunTraining(
      TinyConfig(FullOverrides({"training.max_steps=12", "loss.use_target_encoder=false"})),
      {"vq-window-online"}, &sink, nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_THAT(sink.Series(names::kVqWindowCalls), ElementsAre(40, 40, 16));
  const auto active = sink.Series(names::kVqActiveCodes);
  const auto valid_slot = sink.Series(names::kVqValidSlotActiveCodes);
  ASSERT_EQ(active.size(), 3u);
  ASSERT_EQ(valid_slot.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_LE(valid_slot[i], active[i]);
  EXPECT_FALSE(sink.HasPrefix(std::string(names::kDiagnosticsPrefix) + names::kVqTarget));
  EXPECT_FALSE(sink.HasPrefix(std::string(names::kVqTarget) + "/"));
}

// Per-call timing, refresh interval 7 = the online calls of one micro-batch: one check per
// optimizer step, reported at that step; the per-refresh counts add up to the cumulative ones.
// The target VQ (eval mode) never refreshes.
TEST(TrainerTest, EveryRefreshCheckIsReportedAtItsStep) {
  RecordingSink sink;
  auto outcome = RunTraining(TinyConfig(FullOverrides({"training.max_steps=12"})), {"vq-refresh"},
                             &sink, nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  const std::string checks = RefreshName(names::kVqOnline, names::kVqRefreshChecks);
  EXPECT_THAT(sink.Steps(checks), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
  EXPECT_EQ(Sum(sink.Series(checks)), 12);
  const auto reinitialized =
      sink.Series(RefreshName(names::kVqOnline, names::kVqRefreshReinitialized));
  const auto in_use =
      sink.Series(RefreshName(names::kVqOnline, names::kVqRefreshReinitializedInUse));
  ASSERT_EQ(reinitialized.size(), 12u);
  ASSERT_EQ(in_use.size(), 12u);
  EXPECT_GT(Sum(reinitialized), 0);
  EXPECT_EQ(Sum(reinitialized), sink.Series(names::kVqCodesReinitialized).back());
  EXPECT_EQ(Sum(in_use), sink.Series(names::kVqReinitializedInUse).back());
  for (size_t i = 0; i < 12; ++i) EXPECT_LE(in_use[i], reinitialized[i]);
  const auto revived = sink.Series(RefreshName(names::kVqOnline, names::kVqRefreshPreviousRevived));
  const auto survived =
      sink.Series(RefreshName(names::kVqOnline, names::kVqRefreshPreviousRevivedSurvived));
  ASSERT_EQ(revived.size(), 12u);
  ASSERT_EQ(survived.size(), 12u);
  for (size_t i = 0; i < 12; ++i) EXPECT_LE(survived[i], revived[i]);
  EXPECT_EQ(Sum(survived), sink.Series(names::kVqRevivalsSurvived).back());
  // A check's previous revivals are the codes the check before it re-initialised.
  for (size_t i = 1; i < 12; ++i) EXPECT_EQ(revived[i], reinitialized[i - 1]);
  EXPECT_TRUE(sink.Steps(RefreshName(names::kVqTarget, names::kVqRefreshChecks)).empty());
}

// compat.train_mode_everywhere with per-step timing and interval 3: both VQs check at the end
// of every third optimizer step, and both report it there.
TEST(TrainerTest, TargetVqRefreshesAreReportedUnderVqTarget) {
  RecordingSink sink;
  auto outcome = RunTraining(
      TinyConfig(FullOverrides({"training.max_steps=12", "compat.train_mode_everywhere=true",
                                "compat.vq_update_timing=per_optimizer_step",
                                "object_encoder.vq_refresh_interval=3"})),
      {"vq-target-refresh"}, &sink, nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_THAT(sink.Steps(RefreshName(names::kVqOnline, names::kVqRefreshChecks)),
              ElementsAre(3, 6, 9, 12));
  EXPECT_THAT(sink.Steps(RefreshName(names::kVqTarget, names::kVqRefreshChecks)),
              ElementsAre(3, 6, 9, 12));
  EXPECT_EQ(Sum(sink.Series(RefreshName(names::kVqTarget, names::kVqRefreshReinitialized))),
            sink.Series(names::kVqTargetCodesReinitialized).back());
}

// Checkpoint format 3 keeps the target VQ's cumulative counters: a resumed run reports the
// same totals as the uninterrupted one.
TEST(TrainerTest, ResumeKeepsTheTargetVqCounters) {
  const std::string dir = std::string(getenv("TEST_TMPDIR")) + "/resume_target_vq";
  const TrainerConfig config = TinyConfig(FullOverrides(
      {"training.epochs=2", "training.checkpoint_interval=1", "compat.train_mode_everywhere=true",
       "compat.vq_update_timing=per_optimizer_step", "object_encoder.vq_refresh_interval=3"}));
  RecordingSink full;
  RunContext a{"uninterrupted"};
  a.checkpoint_dir = dir;
  ASSERT_THAT(RunTraining(config, a, &full, nullptr, nullptr), ::testing::IsOk());
  RecordingSink resumed;
  RunContext b{"resumed"};
  b.resume_from = dir + "/checkpoint_epoch_0001.pt";
  ASSERT_THAT(RunTraining(config, b, &resumed, nullptr, nullptr), ::testing::IsOk());
  const auto before = full.Series(names::kVqTargetCodesReinitialized);
  const auto after = resumed.Series(names::kVqTargetCodesReinitialized);
  ASSERT_FALSE(before.empty());
  ASSERT_FALSE(after.empty());
  EXPECT_GT(before.back(), 0);
  EXPECT_EQ(after.back(), before.back());
  EXPECT_EQ(resumed.Series(names::kVqTargetRefreshes).back(),
            full.Series(names::kVqTargetRefreshes).back());
}

TEST(TrainerTest, NanInOneTermDivergesNamingIt) {
  auto outcome = RunTraining(TinyConfig(FullOverrides({"debug.fault=nan", "debug.fault_at_step=4",
                                                       "debug.fault_term=sigreg"})),
                             {"nan-sigreg"}, nullptr, nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(outcome->state, RunState::RUN_STATE_DIVERGED);
  EXPECT_EQ(outcome->steps, 3);
  EXPECT_THAT(outcome->message, HasSubstr("loss/sigreg is nan at step 4"));
}

TEST(TrainerTest, ResumeFromCheckpointContinuesExactly) {
  const std::string dir = std::string(getenv("TEST_TMPDIR")) + "/resume";
  const TrainerConfig config =
      TinyConfig(FullOverrides({"training.epochs=2", "training.checkpoint_interval=1"}));
  RecordingSink full;
  RunContext a{"uninterrupted"};
  a.checkpoint_dir = dir;
  auto first = RunTraining(config, a, &full, nullptr, nullptr);
  ASSERT_THAT(first, ::testing::IsOk());
  ASSERT_EQ(first->state, RunState::RUN_STATE_SUCCEEDED) << first->message;
  const auto losses = full.Series(names::kLossTotal);
  ASSERT_EQ(losses.size(), 28u);

  RecordingSink resumed;
  RunContext b{"resumed"};
  b.resume_from = dir + "/checkpoint_epoch_0001.pt";
  auto second = RunTraining(config, b, &resumed, nullptr, nullptr);
  ASSERT_THAT(second, ::testing::IsOk());
  EXPECT_EQ(second->state, RunState::RUN_STATE_SUCCEEDED) << second->message;
  EXPECT_EQ(second->steps, 28);
  const auto after = resumed.Series(names::kLossTotal);
  ASSERT_EQ(after.size(), 14u);
  EXPECT_EQ(after[0], losses[14]);  // the next step's loss, exactly
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i], losses[14 + i]) << i;
  EXPECT_EQ(resumed.Series(names::kValLoss),
            (std::vector<double>{full.Series(names::kValLoss)[1]}));

  RunContext missing{"missing"};
  missing.resume_from = dir + "/nope.pt";
  EXPECT_THAT(RunTraining(config, missing, nullptr, nullptr, nullptr),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.pt")));
}

TEST(TrainerTest, CheckpointDirIsCreatedUpFrontOrRefusedBeforeTraining) {
  const std::string root = std::string(getenv("TEST_TMPDIR")) + "/nested";
  RunContext nested{"nested"};
  nested.checkpoint_dir = root + "/a/b/checkpoints";  // parents missing: created
  auto outcome = RunTraining(TinyConfig(FullOverrides({"training.epochs=1"})), nested, nullptr,
                             nullptr, nullptr);
  ASSERT_THAT(outcome, ::testing::IsOk());
  EXPECT_EQ(access(LatestCheckpointPath(nested.checkpoint_dir).c_str(), R_OK), 0);

  const std::string file = root + "/a/plain_file";
  std::ofstream(file) << "x";
  RunContext blocked{"blocked"};
  blocked.checkpoint_dir = file + "/checkpoints";  // under a regular file: refused before any step
  RecordingSink sink;
  EXPECT_THAT(RunTraining(TinyConfig(FullOverrides({})), blocked, &sink, nullptr, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("training.checkpoint_dir: cannot create")));
  EXPECT_TRUE(sink.Series(names::kLossTotal).empty());
}

TEST(TrainerTest, ResumeFromInsideAnEpochContinuesExactly) {
  const std::string dir = std::string(getenv("TEST_TMPDIR")) + "/resume_mid_epoch";
  const TrainerConfig config =
      TinyConfig(FullOverrides({"training.epochs=2", "training.checkpoint_every_steps=4"}));
  RecordingSink full;
  auto uninterrupted = RunTraining(config, {"uninterrupted"}, &full, nullptr, nullptr);
  ASSERT_THAT(uninterrupted, ::testing::IsOk());
  const auto losses = full.Series(names::kLossTotal);
  ASSERT_EQ(losses.size(), 28u);

  // The run fails at step 7 of epoch 1: its latest checkpoint is the one after step 4.
  RunContext a{"crashes"};
  a.checkpoint_dir = dir;
  TrainerConfig failing = config;
  failing.mutable_debug()->set_fault("torch_error");
  failing.mutable_debug()->set_fault_at_step(7);
  EXPECT_THAT(RunTraining(failing, a, nullptr, nullptr, nullptr),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("torch_error")));

  RecordingSink resumed;
  RunContext b{"resumed"};
  b.checkpoint_dir = dir;
  b.resume_latest = true;
  auto second = RunTraining(config, b, &resumed, nullptr, nullptr);
  ASSERT_THAT(second, ::testing::IsOk());
  EXPECT_EQ(second->state, RunState::RUN_STATE_SUCCEEDED) << second->message;
  EXPECT_EQ(second->steps, 28);
  const auto after = resumed.Series(names::kLossTotal);
  ASSERT_EQ(after.size(), 24u);
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i], losses[4 + i]) << i;
  // The epoch means include the 4 batches trained before the crash.
  EXPECT_EQ(resumed.Series(names::kTrainLoss), full.Series(names::kTrainLoss));
  EXPECT_EQ(resumed.Series(names::kValLoss), full.Series(names::kValLoss));
}

// compat.train_mode_everywhere (§0.4/§3.7), read back from the checkpoint after one epoch.
struct ModeRun {
  JepaModel online{nullptr}, target{nullptr};
  int64_t sigreg_step = 0;
};

ModeRun RunOneEpoch(const std::string& name, std::vector<std::string> overrides) {
  overrides.push_back("training.epochs=1");
  const TrainerConfig config = TinyConfig(FullOverrides(overrides));
  RunContext context{name};
  context.checkpoint_dir = std::string(getenv("TEST_TMPDIR")) + "/" + name;
  auto outcome = RunTraining(config, context, nullptr, nullptr, nullptr);
  EXPECT_THAT(outcome, ::testing::IsOk());
  ModeRun run;
  run.online = JepaModel(JepaModelOptionsFromConfig(config));
  run.target = JepaModel(JepaModelOptionsFromConfig(config));
  torch::serialize::InputArchive archive, online, target;
  archive.load_from(context.checkpoint_dir + "/checkpoint_latest.pt");
  archive.read("online", online);
  archive.read("target", target);
  run.online->load(online);
  run.target->load(target);
  torch::Tensor step;
  archive.read("sigreg_step", step);
  run.sigreg_step = step.item<int64_t>();
  return run;
}

TEST(TrainerTest, TrainModeEverywhereTicksTargetVqAndValidation) {
  // Hard VQ, per-call EMA: the target VQ keeps its own EMA only in training mode.
  const ModeRun off = RunOneEpoch("hard_eval", {});
  const ModeRun on = RunOneEpoch("hard_train", {"compat.train_mode_everywhere=true"});
  EXPECT_EQ(off.target->vq_codebook()->ema_cluster_size().sum().item<double>(), 0.0);
  EXPECT_EQ(off.target->vq_codebook()->refresh_counter(), 0);
  EXPECT_GT(on.target->vq_codebook()->ema_cluster_size().sum().item<double>(), 0.0);
  // Validation in training mode advances the SIGReg seed counter (one call per batch).
  EXPECT_GT(on.sigreg_step, off.sigreg_step);

  // Gumbel: the step counter ticks on every training-mode call and never resets.
  const ModeRun g_off = RunOneEpoch("gumbel_eval", {"object_encoder.vq_mode=gumbel"});
  const ModeRun g_on = RunOneEpoch(
      "gumbel_train", {"object_encoder.vq_mode=gumbel", "compat.train_mode_everywhere=true"});
  EXPECT_EQ(g_off.target->vq_codebook()->gumbel_step(), 0);
  const int64_t validation_batches = on.sigreg_step - off.sigreg_step;
  const int64_t train_batches = off.sigreg_step;  // one SIGReg call per micro-batch
  // The target encodes once per micro-batch, in training and in validation.
  EXPECT_EQ(g_on.target->vq_codebook()->gumbel_step(), train_batches + validation_batches);
  // The online VQ ticks in validation too (context + 3 invariance pairs per batch).
  EXPECT_EQ(g_on.online->vq_codebook()->gumbel_step() - g_off.online->vq_codebook()->gumbel_step(),
            7 * validation_batches);
}

}  // namespace
}  // namespace jepalab::trainer
