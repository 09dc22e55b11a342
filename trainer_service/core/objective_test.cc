#include "trainer_service/core/objective.h"

#include <torch/torch.h>

#include <map>

#include "common/metric_names.h"
#include "config/trainer_config.h"
#include "gtest/gtest.h"
#include "trainer_service/core/data/training_samples.h"
#include "trainer_service/core/model/jepa_model.h"

namespace jepalab::trainer {

using ::jepalab::config::LoadTrainerConfig;
namespace {

namespace names = ::jepalab::metric_names;

constexpr char kConfig[] = R"(
seed: 3
data:
  context_window: 3
  generator: {seed: 7, num_atomic: 12, num_sequential: 4, min_grid_size: 4, max_grid_size: 8}
tokenizer: {max_objects: 8, max_color_features: 6}
object_encoder: {hidden_dim: 16, num_embeddings: 32, relational_layers: 1, relational_heads: 2,
                 ema_decay: 0.9, vq_refresh_enabled: true, vq_refresh_interval: 2}
loss: {projection_dim: 8, queue_size: 8}
sigreg: {weight: 0.5, num_slices: 4}
invariance: {color_weight: 0.1, translation_weight: 0.2, translation_max_delta: 0.1, symmetry_weight: 0.3}
relational_loss: {weight: 0.05, context_self_weight: 0.025}
)";

class ObjectiveTest : public ::testing::Test {
 protected:
  void SetUp() override { Load({}); }
  void Load(const std::vector<std::string>& overrides) {
    auto config = LoadTrainerConfig(kConfig, "test.yaml", overrides);
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    auto samples = LoadTrainingSamples(config_, 1);
    ASSERT_TRUE(samples.ok()) << samples.status();
    auto tokenizer = ObjectTokenizer::Create(TokenizerOptionsFromConfig(config_.tokenizer()));
    ASSERT_TRUE(tokenizer.ok());
    TokenBatch batch;
    MakeTokenBatch(samples->samples, {0, 1, 2, 3, 4, 5}, 3, &*tokenizer, &batch);
    batch_ = ToTensors(batch, torch::kCPU);
    torch::manual_seed(1);
  }
  config::v1::TrainerConfig config_;
  TokenTensors batch_;
};

TEST_F(ObjectiveTest, ShapesAndMasking) {
  JepaModel model(JepaModelOptionsFromConfig(config_));
  model->eval();
  EXPECT_EQ(batch_.context_features.sizes(), (std::vector<int64_t>{6, 3, 8, 19}));
  const Encoding c =
      model->EncodeContext(batch_.context_features, batch_.context_mask, batch_.context_adjacency);
  EXPECT_EQ(c.objects.sizes(), (std::vector<int64_t>{18, 8, 16}));
  EXPECT_EQ(c.indices.sizes(), (std::vector<int64_t>{18, 8}));
  EXPECT_EQ(c.repr.sizes(), (std::vector<int64_t>{6, 16}));
  const torch::Tensor p = model->Project(c.repr);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{6, 8}));
  EXPECT_TRUE(torch::allclose(p.norm(2, 1), torch::ones({6}), 1e-5, 1e-5));
  // Garbage in padded slots changes nothing (relational layers zero them before VQ and pooling).
  const torch::Tensor pad = (1 - batch_.target_mask).unsqueeze(-1);
  const torch::Tensor noisy =
      batch_.target_features + pad * torch::randn_like(batch_.target_features) * 5;
  const Encoding a =
      model->EncodeTarget(batch_.target_features, batch_.target_mask, batch_.target_adjacency);
  const Encoding b = model->EncodeTarget(noisy, batch_.target_mask, batch_.target_adjacency);
  EXPECT_EQ(a.repr.sizes(), (std::vector<int64_t>{6, 16}));
  EXPECT_TRUE(torch::allclose(a.repr, b.repr, 1e-5, 1e-6));
  // A target copy encodes identically.
  JepaModel target(JepaModelOptionsFromConfig(config_));
  CopyIntoTarget(*target, *model);
  target->eval();
  const Encoding t =
      target->EncodeTarget(batch_.target_features, batch_.target_mask, batch_.target_adjacency);
  EXPECT_TRUE(torch::allclose(t.repr, a.repr));
  for (const auto& param : target->parameters()) EXPECT_FALSE(param.requires_grad());
}

std::map<std::string, double> Values(const ObjectiveResult& r) {
  std::map<std::string, double> out;
  for (const auto& [name, value] : r.terms) out[name] = value.item<double>();
  return out;
}

TEST_F(ObjectiveTest, InfoNceTermsPresentFiniteAndSummed) {
  JepaModel online(JepaModelOptionsFromConfig(config_));
  JepaModel target(JepaModelOptionsFromConfig(config_));
  CopyIntoTarget(*target, *online);
  JepaObjective objective(config_);
  const torch::Tensor log_tau = torch::full({}, std::log(0.1)).set_requires_grad(true);
  const ObjectiveResult r =
      objective.Compute(*online, target.get(), batch_, torch::zeros({0, 8}), log_tau);
  const auto v = Values(r);
  ASSERT_EQ(v.size(), 5u);
  for (const char* name : {names::kLossInfoNce, names::kLossInvariance, names::kLossRelational,
                           names::kLossSigreg, names::kLossVq}) {
    ASSERT_EQ(v.count(name), 1u) << name;
    EXPECT_TRUE(std::isfinite(v.at(name))) << name;
  }
  EXPECT_GT(v.at(names::kLossInvariance), 0);
  EXPECT_NEAR(v.at(names::kLossInfoNce), std::log(6.0), 0.3);  // near chance at init
  EXPECT_EQ(objective.sigreg().step(), 1);
  // Defaults: the VQ loss is part of the objective.
  EXPECT_NEAR(r.total.item<double>(),
              v.at(names::kLossInfoNce) + v.at(names::kLossInvariance) +
                  v.at(names::kLossRelational) + v.at(names::kLossSigreg) + v.at(names::kLossVq),
              1e-5);
  r.total.backward();
  EXPECT_TRUE(log_tau.grad().defined());
  EXPECT_EQ(r.context_projection.sizes(), (std::vector<int64_t>{6, 8}));
  EXPECT_EQ(r.target_indices.sizes(), (std::vector<int64_t>{6, 8}));
}

TEST_F(ObjectiveTest, ReferenceVqLossLeftOutAndSigregObjective) {
  Load({"compat.vq_loss_in_objective=false"});
  JepaModel online(JepaModelOptionsFromConfig(config_));
  JepaObjective objective(config_);
  const torch::Tensor log_tau = torch::full({}, std::log(0.1));
  auto r = objective.Compute(*online, nullptr, batch_, torch::zeros({0, 8}), log_tau);
  auto v = Values(r);
  EXPECT_NEAR(r.total.item<double>(),
              v.at(names::kLossInfoNce) + v.at(names::kLossInvariance) +
                  v.at(names::kLossRelational) + v.at(names::kLossSigreg),
              1e-5);

  Load({"loss.objective=sigreg", "object_encoder.vq_enabled=false"});
  JepaModel plain(JepaModelOptionsFromConfig(config_));
  JepaObjective l2(config_);
  EXPECT_STREQ(l2.primary_term(), names::kLossL2);
  r = l2.Compute(*plain, nullptr, batch_, torch::zeros({0, 8}), log_tau);
  v = Values(r);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NEAR(r.total.item<double>(), v.at(names::kLossL2) + v.at(names::kLossSigreg), 1e-6);
  EXPECT_FALSE(r.context_indices.defined());
}

}  // namespace
}  // namespace jepalab::trainer
