#include "config/trainer_config.h"

#include <sstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace jepalab::config {
namespace {

using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

constexpr char kMini[] = "configs/training/jepa_pretrain_a6000_mini.yaml";
constexpr char kA6000[] = "configs/training/jepa_pretrain_a6000.yaml";

TEST(TrainerConfigTest, SixthRunConfigHasTheReferenceValues) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerConfig config, LoadTrainerConfigFile(kA6000));
  EXPECT_EQ(config.seed(), 123);
  EXPECT_EQ(config.object_encoder().num_embeddings(), 768);
  EXPECT_DOUBLE_EQ(config.object_encoder().commitment_cost(), 0.3);
  EXPECT_DOUBLE_EQ(config.object_encoder().ema_decay(), 0.99);
  EXPECT_EQ(config.object_encoder().vq_refresh_interval(), 500);
  EXPECT_DOUBLE_EQ(config.object_encoder().vq_refresh_usage_threshold(), 0.05);
  EXPECT_DOUBLE_EQ(config.loss().temperature_min(), 0.07);
  EXPECT_DOUBLE_EQ(config.loss().temperature_max(), 0.15);
  EXPECT_EQ(config.loss().queue_size(), 8192);
  EXPECT_DOUBLE_EQ(config.sigreg().weight(), 0.1);
  EXPECT_EQ(config.sigreg().num_slices(), 1024);
  EXPECT_DOUBLE_EQ(config.relational_loss().weight(), 0.05);
  EXPECT_EQ(config.training().epochs(), 80);
  EXPECT_EQ(config.training().early_stopping().patience(), 15);
  EXPECT_DOUBLE_EQ(config.optimizer().lr(), 5e-5);
  EXPECT_EQ(config.diagnostics().embedding_metrics().interval(), 200);
}

TEST(TrainerConfigTest, MiniConfigLoads) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerConfig config, LoadTrainerConfigFile(kMini));
  EXPECT_EQ(config.training().epochs(), 3);
  EXPECT_GT(config.data().generator().num_atomic(), 0);
}

// The reproduction scale is the sixth run time-compressed by the rules in docs/configs.md ("The
// reproduction scale"); each key below is either the sixth run's value or the table's scaled one.
TEST(TrainerConfigTest, ReproConfigIsTheSixthRunByTheScalingTable) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      const TrainerConfig repro,
      LoadTrainerConfigFile("configs/training/jepa_pretrain_a6000_repro.yaml"));
  JEPALAB_ASSERT_OK_AND_ASSIGN(const TrainerConfig sixth, LoadTrainerConfigFile(kA6000));
  const auto& e = repro.object_encoder();
  EXPECT_EQ(e.hidden_dim(), 64);
  EXPECT_EQ(e.relational_layers(), 1);
  EXPECT_EQ(e.relational_heads(), 4);
  EXPECT_DOUBLE_EQ(e.relational_dropout(), sixth.object_encoder().relational_dropout());
  EXPECT_EQ(e.num_embeddings(), 128);
  EXPECT_EQ(e.num_embeddings(), 2 * e.hidden_dim());  // K/H = 2, as 768/384
  // VQ: unchanged.
  EXPECT_TRUE(e.vq_enabled());
  EXPECT_TRUE(e.vq_refresh_enabled());
  EXPECT_DOUBLE_EQ(e.ema_decay(), sixth.object_encoder().ema_decay());
  EXPECT_EQ(e.vq_refresh_interval(), sixth.object_encoder().vq_refresh_interval());
  EXPECT_DOUBLE_EQ(e.vq_refresh_usage_threshold(),
                   sixth.object_encoder().vq_refresh_usage_threshold());
  EXPECT_DOUBLE_EQ(e.commitment_cost(), sixth.object_encoder().commitment_cost());
  EXPECT_EQ(e.activation(), sixth.object_encoder().activation());
  // Projection: 64, two layers, ReLU.
  EXPECT_EQ(repro.model().projection_dim(), 64);
  EXPECT_EQ(repro.loss().projection_dim(), 64);
  EXPECT_EQ(repro.model().projection_layers(), 2);
  EXPECT_EQ(repro.loss().projection_layers(), 2);
  EXPECT_EQ(repro.loss().projection_activation(), "relu");
  // Batch and queue: 64 x 2; the queue holds 16 micro-batches, as 8192 = 16 x 512.
  const auto& t = repro.training();
  EXPECT_EQ(t.batch_size(), 64);
  EXPECT_EQ(t.grad_accum_steps(), sixth.training().grad_accum_steps());
  EXPECT_EQ(sixth.loss().queue_size(), 16 * sixth.training().batch_size());
  EXPECT_EQ(repro.loss().queue_size(), 16 * t.batch_size());
  // SIGReg: weight and points unchanged, 256 slices.
  EXPECT_DOUBLE_EQ(repro.sigreg().weight(), sixth.sigreg().weight());
  EXPECT_EQ(repro.sigreg().num_slices(), 256);
  EXPECT_EQ(repro.sigreg().num_points(), sixth.sigreg().num_points());
  // Losses, temperature, target EMA, optimizer: unchanged.
  EXPECT_EQ(repro.invariance().DebugString(), sixth.invariance().DebugString());
  EXPECT_EQ(repro.relational_loss().DebugString(), sixth.relational_loss().DebugString());
  EXPECT_EQ(repro.loss().objective(), sixth.loss().objective());
  EXPECT_DOUBLE_EQ(repro.loss().temperature(), 0.07);
  EXPECT_DOUBLE_EQ(repro.loss().temperature_min(), 0.07);
  EXPECT_DOUBLE_EQ(repro.loss().temperature_max(), 0.15);
  EXPECT_EQ(repro.loss().learnable_temperature(), sixth.loss().learnable_temperature());
  EXPECT_EQ(repro.loss().use_target_encoder(), sixth.loss().use_target_encoder());
  EXPECT_DOUBLE_EQ(repro.loss().target_ema_decay(), 0.99);
  EXPECT_EQ(repro.optimizer().DebugString(), sixth.optimizer().DebugString());
  EXPECT_EQ(t.grad_clip().DebugString(), sixth.training().grad_clip().DebugString());
  EXPECT_EQ(repro.compat().DebugString(), sixth.compat().DebugString());
  // Data: the pilot generator's settings, 3,000 atomic + 2,000 sequential, split 0.02 (seed 13).
  const auto& g = repro.data().generator();
  EXPECT_EQ(g.seed(), 123);
  EXPECT_EQ(g.num_atomic(), 3000);
  EXPECT_EQ(g.num_sequential(), 2000);
  EXPECT_EQ(g.min_grid_size(), 6);
  EXPECT_EQ(g.max_grid_size(), 14);
  EXPECT_EQ(g.min_colors(), 4);
  EXPECT_EQ(g.max_colors(), 6);
  EXPECT_DOUBLE_EQ(g.fill_probability(), 0.7);
  EXPECT_DOUBLE_EQ(repro.data().validation().split(), sixth.data().validation().split());
  EXPECT_EQ(repro.data().validation().seed(), sixth.data().validation().seed());
  EXPECT_EQ(repro.data().context_window(), sixth.data().context_window());
  EXPECT_EQ(repro.tokenizer().DebugString(), sixth.tokenizer().DebugString());
  // Time: warm-up 361 optimizer steps, cosine over 36 epochs, stopped after 10 (76 micro-batches
  // per epoch, trainer_service/core/repro_data_test.cc).
  EXPECT_EQ(t.lr_scheduler().name(), "cosine");
  EXPECT_EQ(t.lr_scheduler().warmup_steps(), 361);
  EXPECT_DOUBLE_EQ(t.lr_scheduler().min_lr_scale(), sixth.training().lr_scheduler().min_lr_scale());
  EXPECT_EQ(t.epochs(), 36);
  EXPECT_EQ(t.stop_after_epochs(), 10);
  EXPECT_EQ(PlannedOptimizerSteps(repro, 76), 36 * 38);
  EXPECT_EQ(OptimizerStepsToRun(repro, 76), 380);
  EXPECT_EQ(t.early_stopping().DebugString(), sixth.training().early_stopping().DebugString());
  // Diagnostics: every 25 micro-batches over 512 rows.
  EXPECT_EQ(repro.diagnostics().embedding_metrics().interval(), 25);
  EXPECT_EQ(repro.diagnostics().embedding_metrics().max_samples(), 512);
}

TEST(TrainerConfigTest, ErrorsNameFileAndLine) {
  EXPECT_THAT(
      LoadTrainerConfigFile("config/testdata/bad_lr.yaml"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("optimizer.lr: must be > 0, got -0.1 (config/testdata/bad_lr.yaml:4)")));
  EXPECT_THAT(
      LoadTrainerConfigFile("config/testdata/unknown_key.yaml"),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr(
              "training.learning_rate: unknown key (training has no field named \"learning_rate\") "
              "(config/testdata/unknown_key.yaml:5)")));
  EXPECT_THAT(LoadTrainerConfigFile("no/such/file.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such/file.yaml")));
}

struct BadValue {
  std::string override_text;
  std::string expected_error;
};

class TrainerConfigRuleTest : public ::testing::TestWithParam<BadValue> {};

TEST_P(TrainerConfigRuleTest, RejectsWithFieldPath) {
  EXPECT_THAT(LoadTrainerConfigFile(kMini, {GetParam().override_text}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().expected_error)));
}

INSTANTIATE_TEST_SUITE_P(
    EveryRule, TrainerConfigRuleTest,
    ::testing::Values(
        BadValue{"optimizer.lr=-0.1", "optimizer.lr: must be > 0, got -0.1"},
        BadValue{"optimizer.lr=.nan", "optimizer.lr: must be a finite number"},
        // Past double range: parses as inf (absl::SimpleAtod), then fails the same rule.
        BadValue{"optimizer.lr=1e999", "optimizer.lr: must be a finite number"},
        BadValue{"optimizer.name=sgd", "optimizer.name: must be one of {adam, adamw}, got \"sgd\""},
        BadValue{"optimizer.weight_decay=-1", "optimizer.weight_decay: must be >= 0, got -1"},
        BadValue{"data.context_window=0", "data.context_window: must be in [1, 64], got 0"},
        BadValue{"data.target_offset=0", "data.target_offset: must be in [1, 64]"},
        BadValue{"data.validation.split=1", "data.validation.split: must be in [0, 1), got 1"},
        BadValue{"data.validation.batch_size=0",
                 "data.validation.batch_size: must be in [1, 65536]"},
        BadValue{"data.generator.max_grid_size=31",
                 "data.generator.max_grid_size: must be in [6, 30], got 31"},
        BadValue{"data.generator.min_grid_size=0",
                 "data.generator.min_grid_size: must be in [1, 30]"},
        BadValue{"data.generator.min_colors=1", "data.generator.min_colors: must be in [2, 10]"},
        BadValue{"data.generator.max_colors=11",
                 "data.generator.max_colors: must be in [4, 10], got 11"},
        BadValue{"data.generator.fill_probability=1.5",
                 "data.generator.fill_probability: must be in [0, 1]"},
        BadValue{"data.generator.num_atomic=-1",
                 "data.generator.num_atomic: must be in [0, 10000000]"},
        BadValue{"data.generator.background=10", "data.generator.background: must be in [0, 9]"},
        BadValue{"data.generator.max_parameter_retries=0", "data.generator.max_parameter_retries"},
        BadValue{"data.generator.max_task_retries=0", "data.generator.max_task_retries"},
        BadValue{"tokenizer.connectivity=6", "tokenizer.connectivity: must be 4 or 8, got 6"},
        BadValue{"tokenizer.max_objects=0", "tokenizer.max_objects: must be in [1, 900]"},
        BadValue{"tokenizer.max_color_features=0", "tokenizer.max_color_features"},
        BadValue{"tokenizer.background=[0, 12]",
                 "tokenizer.background[1]: must be in [0, 9], got 12"},
        BadValue{"object_encoder.hidden_dim=0", "object_encoder.hidden_dim: must be in [1, 8192]"},
        BadValue{"object_encoder.relational_heads=3",
                 "object_encoder.relational_heads: must divide hidden_dim (64), got 3"},
        BadValue{"object_encoder.relational_layers=-1", "object_encoder.relational_layers"},
        BadValue{"object_encoder.relational_dropout=1",
                 "object_encoder.relational_dropout: must be in [0, 1)"},
        BadValue{"object_encoder.activation=tanh",
                 "object_encoder.activation: must be one of {gelu, relu}"},
        BadValue{"object_encoder.vq_mode=soft",
                 "object_encoder.vq_mode: must be one of {hard, gumbel}"},
        BadValue{"object_encoder.num_embeddings=0",
                 "object_encoder.num_embeddings: must be in [1, 1048576], got 0"},
        BadValue{"object_encoder.ema_decay=1",
                 "object_encoder.ema_decay: must be in [0, 1), got 1"},
        BadValue{"object_encoder.commitment_cost=-0.1",
                 "object_encoder.commitment_cost: must be >= 0"},
        BadValue{"object_encoder.vq_refresh_interval=0",
                 "object_encoder.vq_refresh_interval: must be >= 1, got 0"},
        BadValue{"object_encoder.vq_refresh_usage_threshold=2",
                 "object_encoder.vq_refresh_usage_threshold: must be in [0, 1]"},
        BadValue{"object_encoder.vq_temperature_init=0",
                 "object_encoder.vq_temperature_init: must be > 0"},
        BadValue{"object_encoder.vq_temperature_min=-1",
                 "object_encoder.vq_temperature_min: must be > 0"},
        BadValue{"object_encoder.vq_temperature_anneal_steps=-1",
                 "object_encoder.vq_temperature_anneal_steps"},
        BadValue{"object_encoder.vq_entropy_weight=-1", "object_encoder.vq_entropy_weight"},
        BadValue{"model.context_aggregation=max",
                 "model.context_aggregation: must be one of {mean, last, learned}"},
        BadValue{"model.projection_layers=0", "model.projection_layers"},
        BadValue{"model.projection_dim=0", "model.projection_dim"},
        BadValue{"training.batch_size=0", "training.batch_size: must be in [1, 65536], got 0"},
        BadValue{"training.grad_accum_steps=0", "training.grad_accum_steps"},
        BadValue{"training.num_workers=-1", "training.num_workers"},
        BadValue{"training.epochs=0", "training.epochs: must be in [1, 100000], got 0"},
        BadValue{"training.checkpoint_interval=0", "training.checkpoint_interval"},
        BadValue{"training.device=tpu",
                 "training.device: must be auto, cpu, cuda or cuda:N, got \"tpu\""},
        BadValue{"training.mixed_precision=fp8",
                 "training.mixed_precision: must be one of {none, bf16, fp16}"},
        BadValue{"training.grad_clip.max_norm=-1", "training.grad_clip.max_norm: must be >= 0"},
        BadValue{"training.grad_clip.norm_type=0", "training.grad_clip.norm_type: must be > 0"},
        BadValue{"training.lr_scheduler.name=step",
                 "training.lr_scheduler.name: must be one of {cosine, linear, constant}"},
        BadValue{"training.lr_scheduler.warmup_steps=-1", "training.lr_scheduler.warmup_steps"},
        BadValue{"training.lr_scheduler.min_lr_scale=2",
                 "training.lr_scheduler.min_lr_scale: must be in [0, 1]"},
        BadValue{"training.early_stopping.patience=0",
                 "training.early_stopping.patience: must be >= 1"},
        BadValue{"training.early_stopping.min_delta=-1", "training.early_stopping.min_delta"},
        BadValue{"training.early_stopping.mode=avg", "training.early_stopping.mode"},
        BadValue{"training.num_threads=-1", "training.num_threads"},
        BadValue{"training.max_steps=-1", "training.max_steps: must be >= 0"},
        BadValue{"training.checkpoint_every_steps=-5",
                 "training.checkpoint_every_steps: must be >= 0"},
        BadValue{"augmentations.mask_ratio=1.5", "augmentations.mask_ratio: must be in [0, 1]"},
        BadValue{"augmentations.random_crop_radius=-1", "augmentations.random_crop_radius"},
        BadValue{"augmentations.gaussian_noise_std=-1", "augmentations.gaussian_noise_std"},
        BadValue{"augmentations.min_grid_size_for_crop=0", "augmentations.min_grid_size_for_crop"},
        BadValue{"augmentations.object_dropout=2", "augmentations.object_dropout"},
        BadValue{"loss.objective=mse", "loss.objective: must be one of {infonce, sigreg}"},
        BadValue{"loss.temperature=0", "loss.temperature: must be > 0, got 0"},
        BadValue{"loss.temperature_init=-1", "loss.temperature_init: must be > 0"},
        BadValue{"loss.temperature_min=0", "loss.temperature_min: must be > 0"},
        BadValue{"loss.temperature_max=0.01",
                 "loss.temperature_max: must be >= temperature_min (0.07), got 0.01"},
        BadValue{"loss.temperature_bounds=[0.1]",
                 "loss.temperature_bounds: must be [min, max], got 1 values"},
        BadValue{"loss.temperature_bounds=[0.3, 0.1]",
                 "loss.temperature_bounds[1]: must be >= temperature_bounds[0]"},
        BadValue{"loss.temperature_bounds=[0, 0.1]", "loss.temperature_bounds[0]: must be > 0"},
        BadValue{"loss.queue_size=-1", "loss.queue_size"},
        BadValue{"loss.projection_dim=0", "loss.projection_dim"},
        BadValue{"loss.projection_layers=0", "loss.projection_layers"},
        BadValue{"loss.projection_activation=tanh", "loss.projection_activation"},
        BadValue{"loss.target_ema_decay=1.5", "loss.target_ema_decay: must be in [0, 1]"},
        BadValue{"sigreg.weight=-1", "sigreg.weight: must be >= 0"},
        BadValue{"sigreg.num_slices=0", "sigreg.num_slices: must be in [1, 65536], got 0"},
        BadValue{"sigreg.num_points=16", "sigreg.num_points: must be odd, got 16"},
        BadValue{"invariance.color_weight=-1", "invariance.color_weight"},
        BadValue{"invariance.translation_weight=-1", "invariance.translation_weight"},
        BadValue{"invariance.translation_max_delta=-1", "invariance.translation_max_delta"},
        BadValue{"invariance.symmetry_weight=-1", "invariance.symmetry_weight"},
        BadValue{"invariance.symmetry_modes=['']",
                 "invariance.symmetry_modes[0]: must not be empty"},
        BadValue{"invariance.palette_size=0", "invariance.palette_size"},
        BadValue{"invariance.coordinate_max=-1",
                 "invariance.coordinate_max: must be > coordinate_min"},
        BadValue{"relational_loss.weight=-1", "relational_loss.weight"},
        BadValue{"relational_loss.context_self_weight=-1", "relational_loss.context_self_weight"},
        BadValue{"diagnostics.embedding_metrics.interval=0",
                 "diagnostics.embedding_metrics.interval: must be >= 1"},
        BadValue{"diagnostics.embedding_metrics.log_interval=0",
                 "diagnostics.embedding_metrics.log_interval"},
        BadValue{"diagnostics.embedding_metrics.max_samples=1",
                 "diagnostics.embedding_metrics.max_samples"},
        BadValue{"debug.fault=explode",
                 "debug.fault: must be one of {none, abort, segfault, torch_error, nan, hang}"},
        BadValue{"debug.fault_at_step=-1", "debug.fault_at_step"}));

TEST(TrainerConfigTest, EmptyGeneratorIsRejected) {
  EXPECT_THAT(LoadTrainerConfigFile(
                  kMini, {"data.generator.num_atomic=0", "data.generator.num_sequential=0"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("data.generator: num_atomic + num_sequential must be >= 1")));
}

TEST(TrainerConfigTest, HashFollowsResolvedValues) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerConfig a, LoadTrainerConfigFile(kMini));
  JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerConfig b,
                               LoadTrainerConfig(ResolvedConfigYaml(a), "resolved"));
  EXPECT_EQ(ConfigHash(a), ConfigHash(b));
  EXPECT_EQ(ConfigHash(a).size(), 64u);
  JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerConfig c,
                               LoadTrainerConfigFile(kMini, {"optimizer.lr=0.002"}));
  EXPECT_NE(ConfigHash(a), ConfigHash(c));
}

TEST(TrainerConfigTest, PlannedStepsFollowReferenceBookkeeping) {
  TrainerConfig config;
  config.mutable_training()->set_grad_accum_steps(2);
  config.mutable_training()->set_epochs(80);
  EXPECT_EQ(PlannedOptimizerSteps(config, 95), 3840);  // reference §1.5 pilot numbers
  config.mutable_training()->set_epochs(30);
  EXPECT_EQ(PlannedOptimizerSteps(config, 95), 1440);
  config.mutable_training()->set_max_steps(100);
  EXPECT_EQ(PlannedOptimizerSteps(config, 95), 100);
}

}  // namespace
}  // namespace jepalab::config

namespace jepalab::config {
namespace {

// The diagnostic plan's configs claim, in their header, to be a base config with exactly the
// listed changes. Check that claim: base + listed overrides resolves to the very same config.
class DiagnosticPlanConfigTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DiagnosticPlanConfigTest, IsItsBaseWithExactlyTheListedChanges) {
  for (const std::string suffix : {"", "_repro", "_mini"}) {
    const std::string path = "configs/training/" + GetParam() + suffix + ".yaml";
    JEPALAB_ASSERT_OK_AND_ASSIGN(const std::string text, common::ReadFile(path));
    ASSERT_FALSE(text.empty()) << path;
    std::istringstream lines(text);
    std::string line, base;
    std::vector<std::string> overrides;
    while (std::getline(lines, line) && line.rfind("#", 0) == 0) {
      if (const size_t pos = line.find(" with exactly this change"); pos != std::string::npos) {
        base = line.substr(2, pos - 2);
      } else if (line.rfind("#   ", 0) == 0) {
        overrides.push_back(line.substr(4));
      }
    }
    ASSERT_FALSE(base.empty()) << path << " names no base config";
    ASSERT_FALSE(overrides.empty()) << path << " lists no change";
    JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerConfig variant, LoadTrainerConfigFile(path));
    JEPALAB_ASSERT_OK_AND_ASSIGN(
        TrainerConfig expected,
        LoadTrainerConfigFile("configs/training/" + base + ".yaml", overrides));
    EXPECT_EQ(ResolvedConfigYaml(variant), ResolvedConfigYaml(expected)) << path;
    JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerConfig unchanged,
                                 LoadTrainerConfigFile("configs/training/" + base + ".yaml"));
    EXPECT_NE(ConfigHash(variant), ConfigHash(unchanged)) << path << " changes nothing";
  }
}

INSTANTIATE_TEST_SUITE_P(Plan, DiagnosticPlanConfigTest,
                         ::testing::Values("jepa_diag_no_vq", "jepa_diag_vq_no_refresh",
                                           "jepa_diag_commitment_015", "jepa_diag_refresh_2000",
                                           "jepa_diag_codebook_grad", "jepa_diag_infonce_only",
                                           "jepa_diag_temperature_wide", "jepa_diag_context_last",
                                           "jepa_diag_context_learned", "jepa_diag_minimal"));

}  // namespace
}  // namespace jepalab::config

// Reference-compatibility switches (compat.*, docs/reference_compat.md).
namespace jepalab::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StatusIs;

constexpr char kCompatBase[] = "configs/training/jepa_pretrain_a6000_mini.yaml";

TEST(CompatConfigTest, DefaultsAreTheCorrectedBehaviour) {
  const TrainerConfig config;
  EXPECT_TRUE(config.compat().vq_loss_in_objective());
  EXPECT_EQ(config.compat().vq_refresh_threshold(), "relative_to_mean");
  EXPECT_EQ(config.compat().vq_update_timing(), "per_optimizer_step");
  EXPECT_FALSE(config.compat().vq_swapped_loss_weighting());
  EXPECT_EQ(config.compat().vq_ema_init(), "zero");
  EXPECT_EQ(config.compat().vq_revival(), "consistent");
  EXPECT_FALSE(config.compat().train_mode_everywhere());
}

TEST(CompatConfigTest, ReferenceValuesAreAccepted) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      TrainerConfig config,
      LoadTrainerConfigFile(
          kCompatBase,
          {"compat.vq_loss_in_objective=false", "compat.vq_refresh_threshold=total_mass_share",
           "compat.vq_update_timing=per_call", "compat.vq_swapped_loss_weighting=true",
           "compat.vq_ema_init=codebook_copy", "compat.vq_revival=reference",
           "compat.train_mode_everywhere=true", "object_encoder.vq_refresh_usage_threshold=1"}));
  EXPECT_EQ(config.compat().vq_update_timing(), "per_call");
  EXPECT_TRUE(config.compat().train_mode_everywhere());
}

TEST(CompatConfigTest, BaselineConfigsReproduceTheReference) {
  for (const char* path : {"configs/training/jepa_pretrain_a6000.yaml", kCompatBase}) {
    JEPALAB_ASSERT_OK_AND_ASSIGN(TrainerConfig config, LoadTrainerConfigFile(path));
    EXPECT_FALSE(config.compat().vq_loss_in_objective()) << path;
    EXPECT_EQ(config.compat().vq_refresh_threshold(), "total_mass_share") << path;
    EXPECT_EQ(config.compat().vq_update_timing(), "per_call") << path;
    EXPECT_TRUE(config.compat().vq_swapped_loss_weighting()) << path;
    EXPECT_EQ(config.compat().vq_ema_init(), "codebook_copy") << path;
    EXPECT_EQ(config.compat().vq_revival(), "reference") << path;
    EXPECT_TRUE(config.compat().train_mode_everywhere()) << path;
  }
}

struct BadCompat {
  std::vector<std::string> overrides;
  std::string expected_error;
};

class CompatConfigRuleTest : public ::testing::TestWithParam<BadCompat> {};

TEST_P(CompatConfigRuleTest, RejectsWithFieldPath) {
  EXPECT_THAT(LoadTrainerConfigFile(kCompatBase, GetParam().overrides),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().expected_error)));
}

INSTANTIATE_TEST_SUITE_P(
    EveryRule, CompatConfigRuleTest,
    ::testing::Values(BadCompat{{"compat.vq_refresh_threshold=share"},
                                "compat.vq_refresh_threshold: must be one of {total_mass_share, "
                                "relative_to_mean}, got \"share\""},
                      BadCompat{{"compat.vq_update_timing=per_epoch"},
                                "compat.vq_update_timing: must be one of {per_call, "
                                "per_optimizer_step}, got \"per_epoch\""},
                      BadCompat{{"compat.vq_ema_init=random"},
                                "compat.vq_ema_init: must be one of {codebook_copy, zero}"},
                      BadCompat{{"compat.vq_revival=fresh"},
                                "compat.vq_revival: must be one of {reference, consistent}"},
                      BadCompat{{"compat.vq_refresh_threshold=relative_to_mean",
                                 "object_encoder.vq_refresh_usage_threshold=1"},
                                "object_encoder.vq_refresh_usage_threshold: must be < 1 with "
                                "compat.vq_refresh_threshold "
                                "relative_to_mean, got 1"}));

}  // namespace
}  // namespace jepalab::config
