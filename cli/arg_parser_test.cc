#include "cli/arg_parser.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StatusIs;

const std::set<std::string> kValues = {"set", "seed", "scheduler"};
const std::set<std::string> kSwitches = {"watch"};

TEST(ArgParserTest, CommandPositionalsAndRepeatedFlags) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      ParsedArgs args,
      ParseArgs({"submit", "cfg.yaml", "--set", "optimizer.lr=1e-4",
                 "--set=invariance.symmetry_modes=[h,v]", "--watch", "--seed=1", "--seed", "2"},
                kValues, kSwitches));
  EXPECT_EQ(args.command, "submit");
  EXPECT_THAT(args.positional, ElementsAre("cfg.yaml"));
  EXPECT_THAT(args.GetAll("set"),
              ElementsAre("optimizer.lr=1e-4", "invariance.symmetry_modes=[h,v]"));
  EXPECT_THAT(args.GetAll("seed"), ElementsAre("1", "2"));
  EXPECT_TRUE(args.Has("watch"));
  EXPECT_EQ(args.Get("scheduler", "127.0.0.1:50051"), "127.0.0.1:50051");
}

TEST(ArgParserTest, RejectsUnknownAndIncompleteFlags) {
  EXPECT_THAT(ParseArgs({"list", "--bogus"}, kValues, kSwitches),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown flag --bogus")));
  EXPECT_THAT(ParseArgs({"submit", "--set"}, kValues, kSwitches),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--set needs a value")));
  EXPECT_THAT(ParseArgs({"watch", "--watch=yes"}, kValues, kSwitches),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("takes no value")));
}

TEST(ArgParserTest, IntegerFlagsNameTheFlagWhenBad) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(ParsedArgs args,
                               ParseArgs({"submit", "--seed=-7"}, kValues, kSwitches));
  EXPECT_EQ(*args.GetInt("seed", 0), -7);
  EXPECT_EQ(*args.GetInt("scheduler", 42), 42);  // absent: the fallback
  JEPALAB_ASSERT_OK_AND_ASSIGN(ParsedArgs bad,
                               ParseArgs({"submit", "--seed=high"}, kValues, kSwitches));
  EXPECT_THAT(bad.GetInt("seed", 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--seed: expected an integer, got \"high\"")));
}

TEST(ArgParserTest, DoubleDashEndsFlags) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(ParsedArgs args,
                               ParseArgs({"metrics", "--", "--odd-run"}, kValues, kSwitches));
  EXPECT_THAT(args.positional, ElementsAre("--odd-run"));
}

TEST(ArgParserTest, ShortFlagsAreAliases) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      ParsedArgs args,
      ParseArgs({"report", "plan-0001", "-o", "r.html", "-x"}, {"output"}, {}, {{"o", "output"}}));
  EXPECT_EQ(args.Get("output"), "r.html");
  EXPECT_THAT(args.positional, ElementsAre("plan-0001", "-x"));
  EXPECT_THAT(ParseArgs({"report", "-o"}, {"output"}, {}, {{"o", "output"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--output needs a value")));
}

}  // namespace
}  // namespace jepalab::cli
