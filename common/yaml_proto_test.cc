#include "common/yaml_proto.h"

#include <cmath>
#include <string>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "proto/config/plan_config.pb.h"
#include "proto/config/trainer_config.pb.h"

namespace jepalab::common {
namespace {

using ::jepalab::config::v1::TrainerConfig;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

constexpr char kYaml[] = R"(seed: 7
optimizer:
  lr: 1.0e-4
  name: adamw
tokenizer:
  background: 0
invariance:
  symmetry_modes: ["horizontal", "vertical"]
object_encoder:
  ema_decay: null
)";

TEST(YamlProtoTest, FillsTypedFields) {
  TrainerConfig config;
  FieldLines lines;
  ASSERT_THAT(ParseYamlInto(kYaml, "cfg.yaml", {}, &config, &lines), IsOk());
  EXPECT_EQ(config.seed(), 7);
  EXPECT_DOUBLE_EQ(config.optimizer().lr(), 1e-4);
  EXPECT_EQ(config.optimizer().name(), "adamw");
  ASSERT_EQ(config.tokenizer().background_size(), 1);  // scalar into a repeated field
  EXPECT_EQ(config.invariance().symmetry_modes_size(), 2);
  EXPECT_FALSE(config.object_encoder().has_ema_decay());
  EXPECT_EQ(lines.at("optimizer.lr"), 3);
}

TEST(YamlProtoTest, UnknownKeyNamesPathAndLine) {
  TrainerConfig config;
  EXPECT_THAT(ParseYamlInto("optimizer:\n  lr: 1\n  betas: 2\n", "cfg.yaml", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("optimizer.betas: unknown key (optimizer has no field named "
                                 "\"betas\") (cfg.yaml:3)")));
}

TEST(YamlProtoTest, WrongTypesNamePath) {
  TrainerConfig config;
  EXPECT_THAT(ParseYamlInto("training:\n  batch_size: 1.5\n", "c", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("training.batch_size: expected an integer, got \"1.5\" (c:2)")));
  EXPECT_THAT(
      ParseYamlInto("optimizer:\n  lr: fast\n", "c", {}, &config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.lr: expected a number")));
  EXPECT_THAT(ParseYamlInto("loss:\n  learnable_temperature: maybe\n", "c", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("loss.learnable_temperature: expected true or false")));
  EXPECT_THAT(
      ParseYamlInto("optimizer: 3\n", "c", {}, &config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer: expected a mapping")));
  EXPECT_THAT(ParseYamlInto("training:\n  epochs: 99999999999\n", "c", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("training.epochs: integer out of range")));
  EXPECT_THAT(ParseYamlInto("seed: [1, 2]\n", "c", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seed: expected a integer")));
}

TEST(YamlProtoTest, MalformedYamlNamesLine) {
  TrainerConfig config;
  EXPECT_THAT(ParseYamlInto("a: [1, 2\nb: 3\n", "bad.yaml", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.yaml:")));
}

TEST(YamlProtoTest, RejectsDeepNestingAndHugeInput) {
  TrainerConfig config;
  std::string deep = "seed: ";
  for (int i = 0; i < 40; ++i) deep += "{a: ";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  EXPECT_THAT(ParseYamlInto(deep, "c", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seed")));
  EXPECT_THAT(ParseYamlInto(std::string(kMaxYamlBytes + 1, '#'), "c", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bytes")));
}

std::string Repeat(const std::string& text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

// 10000 levels, in every way YAML nests: yaml-cpp's own depth guard (2000) ends the parse
// (its message is only "bad file", so ours names the limit), so the recursive converter never
// sees such a tree.
TEST(YamlProtoTest, TenThousandLevelsOfNestingAreAnErrorNotAStackOverflow) {
  TrainerConfig config;
  const int kLevels = 10000;
  for (const std::string& deep : {"seed: " + Repeat("{a: ", kLevels) + "1" + Repeat("}", kLevels),
                                  "seed: " + Repeat("[", kLevels) + "1" + Repeat("]", kLevels),
                                  Repeat("- ", kLevels) + "1", Repeat("[", kLevels)}) {
    EXPECT_THAT(ParseYamlInto(deep, "deep.yaml", {}, &config),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("deep.yaml:1: nesting deeper than 32 levels")))
        << deep.substr(0, 20);
  }
  EXPECT_THAT(ParseYamlInto(kYaml, "c", {"seed=" + Repeat("[", kLevels)}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("seed: override value nests deeper than 32 levels")));
  // A 10000-segment override key stops at the first segment the schema lacks.
  EXPECT_THAT(
      ParseYamlInto(kYaml, "c", {Repeat("optimizer.", kLevels) + "lr=1"}, &config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.optimizer: unknown key")));
}

TEST(YamlProtoTest, HugeNumbersAndAliasesAreHandled) {
  TrainerConfig config;
  EXPECT_THAT(ParseYamlInto("seed: 123456789012345678901234567890", "c", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seed: expected an integer")));
  EXPECT_THAT(ParseYamlInto("training: {epochs: -99999999999}", "c", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("training.epochs: integer out of range")));
  // Past double range parses as infinity; the owning validator rejects it (trainer_config_test).
  ASSERT_THAT(ParseYamlInto("optimizer: {lr: 1e999}", "c", {}, &config), IsOk());
  EXPECT_TRUE(std::isinf(config.optimizer().lr()));
  // Anchors and aliases resolve like their values; one used as a wrong type still names the key.
  ASSERT_THAT(ParseYamlInto("seed: &s 5\ntraining: {epochs: *s}", "c", {}, &config), IsOk());
  EXPECT_EQ(config.training().epochs(), 5);
  EXPECT_THAT(ParseYamlInto("optimizer: &o {lr: 1}\nseed: *o", "c", {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seed: expected a")));
}

// "Billion laughs": aliases of aliases. Found by tools/fuzz.sh's plan_fuzzer with a hand-made
// 64 KB plan (8000 stages x 8000 runs), which ran past libFuzzer's 30 s timeout.
TEST(YamlProtoTest, AliasExpansionIsBounded) {
  jepalab::config::v1::PlanConfig plan;
  std::string yaml = "stages: [&s {name: a, runs: [&r {name: x, config: c.yaml}";
  yaml += Repeat(", *r", 8000) + "]}" + Repeat(", *s", 8000) + "]\n";
  EXPECT_THAT(ParseYamlInto(yaml, "laughs.yaml", {}, &plan),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 262144 values (keys and list elements, aliases "
                                 "expanded) (laughs.yaml:1)")));
  // A plain list of the same length is fine.
  TrainerConfig config;
  EXPECT_THAT(ParseYamlInto("invariance: {symmetry_modes: [" + Repeat("h, ", 8000) + "h]}", "c", {},
                            &config),
              IsOk());
}

TEST(YamlProtoTest, OverridesApplyInOrderAndCreateSections) {
  TrainerConfig config;
  ASSERT_THAT(
      ParseYamlInto(kYaml, "c", {"optimizer.lr=0.5", "training.epochs=3", "optimizer.lr=0.25"},
                    &config),
      IsOk());
  EXPECT_DOUBLE_EQ(config.optimizer().lr(), 0.25);
  EXPECT_EQ(config.training().epochs(), 3);
  EXPECT_THAT(
      ParseYamlInto(kYaml, "c", {"optimizer.lrr=1"}, &config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("optimizer.lrr: unknown key")));
  EXPECT_THAT(ParseYamlInto(kYaml, "c", {"no_equals_sign"}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("override #1")));
  EXPECT_THAT(ParseYamlInto(kYaml, "c", {"seed.x=1"}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seed: is not a section")));
}

TEST(YamlProtoTest, ResolvedYamlRoundTripsWithDefaults) {
  TrainerConfig config;
  ASSERT_THAT(ParseYamlInto(kYaml, "c", {}, &config), IsOk());
  const std::string resolved = MessageToYaml(config);
  EXPECT_NE(resolved.find("queue_size: 8192"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("ema_decay: ~"), std::string::npos) << resolved;
  TrainerConfig reparsed;
  ASSERT_THAT(ParseYamlInto(resolved, "resolved", {}, &reparsed), IsOk());
  EXPECT_EQ(reparsed.optimizer().lr(), config.optimizer().lr());
  EXPECT_EQ(reparsed.loss().queue_size(), 8192);
  EXPECT_TRUE(reparsed.loss().has_queue_size());  // defaults are materialised
  EXPECT_FALSE(reparsed.object_encoder().has_ema_decay());
  EXPECT_EQ(MessageToYaml(reparsed), resolved);
}

TEST(YamlProtoTest, AnnotateWithLineFindsClosestParent) {
  FieldLines lines = {{"optimizer", 4}, {"optimizer.lr", 5}};
  EXPECT_EQ(AnnotateWithLine(absl::InvalidArgumentError("optimizer.lr: must be > 0, got -0.1"),
                             "f.yaml", lines)
                .message(),
            "optimizer.lr: must be > 0, got -0.1 (f.yaml:5)");
  EXPECT_EQ(AnnotateWithLine(absl::InvalidArgumentError("optimizer.name: bad"), "f.yaml", lines)
                .message(),
            "optimizer.name: bad (f.yaml:4)");
  EXPECT_EQ(AnnotateWithLine(absl::InvalidArgumentError("training.epochs: bad"), "f.yaml", lines)
                .message(),
            "training.epochs: bad");
}

TEST(YamlProtoTest, FormatDoubleIsShortestExact) {
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(5e-5), "5e-05");
  EXPECT_EQ(FormatDouble(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(FormatDouble(2), "2");
}

}  // namespace
}  // namespace jepalab::common
