#include "trainer_service/core/data/manifest.h"

#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StatusIs;

std::string Testdata(const std::string& name) {
  return "trainer_service/core/data/testdata/" + name;
}

// Reference §1.3: data/tiny_manifest.jsonl, 5 frames of 3x3, C=3, offset 1 -> 2 samples.
TEST(ManifestTest, TinyManifestFramesGiveTwoSamples) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(const std::vector<GridSample> samples,
                               LoadManifestFile(Testdata("tiny_manifest.jsonl"), {}));
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_THAT(samples[0].context_indices, ElementsAre(0, 1, 2));
  EXPECT_EQ(samples[0].target_index, 3);
  EXPECT_THAT(samples[1].context_indices, ElementsAre(1, 2, 3));
  EXPECT_EQ(samples[1].target_index, 4);
  EXPECT_EQ(samples[0].id, "tiny_0");
  EXPECT_EQ(samples[1].id, "tiny_1");
  ASSERT_EQ(samples[1].context.size(), 3u);
  EXPECT_EQ(samples[1].context[0].height, 3);
  EXPECT_EQ(samples[1].context[0].at(0, 0), 2);  // frame k holds k+1 on its diagonal
  EXPECT_EQ(samples[1].target.at(2, 2), 5);
}

TEST(ManifestTest, TargetOffsetAndWindow) {
  ManifestOptions options;
  options.context_window = 2;
  options.target_offset = 2;
  JEPALAB_ASSERT_OK_AND_ASSIGN(const std::vector<GridSample> samples,
                               LoadManifestFile(Testdata("tiny_manifest.jsonl"), options));
  ASSERT_EQ(samples.size(), 2u);  // window 4 over 5 frames
  EXPECT_THAT(samples[0].context_indices, ElementsAre(0, 1));
  EXPECT_EQ(samples[0].target_index, 3);
  options.context_window = 5;
  EXPECT_THAT(LoadManifestFile(Testdata("tiny_manifest.jsonl"), options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holds no sample")));
}

TEST(ManifestTest, ContextTargetAndInputOutputRecords) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(const std::vector<GridSample> samples,
                               LoadManifestFile(Testdata("mixed_manifest.jsonl"), {}));
  ASSERT_EQ(samples.size(), 3u);
  // Four context grids -> the last three.
  EXPECT_EQ(samples[0].id, "ct");
  ASSERT_EQ(samples[0].context.size(), 3u);
  EXPECT_EQ(samples[0].context[0].at(0, 0), 2);
  EXPECT_EQ(samples[0].context[2].at(0, 0), 4);
  EXPECT_EQ(samples[0].target.at(0, 0), 5);
  EXPECT_EQ(samples[0].target_index, -1);
  // A single context grid is repeated; a list target gives its first grid.
  EXPECT_EQ(samples[1].id, "ct_single");
  ASSERT_EQ(samples[1].context.size(), 3u);
  for (const Grid& g : samples[1].context) EXPECT_THAT(g.cells, ElementsAre(1, 2));
  EXPECT_THAT(samples[1].target.cells, ElementsAre(7));
  // input/output: context (input,) x 3; no id -> "<file>:<line>" (line 4: line 2 is blank).
  EXPECT_EQ(samples[2].id, Testdata("mixed_manifest.jsonl") + ":4");
  ASSERT_EQ(samples[2].context.size(), 3u);
  EXPECT_THAT(samples[2].context[1].cells, ElementsAre(1, 0, 0, 1));
  EXPECT_THAT(samples[2].target.cells, ElementsAre(2));
}

TEST(ManifestTest, ShorterContextPadsWithTheLastGrid) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(
      const std::vector<GridSample> samples,
      ParseManifest(R"({"context": [[[1]], [[2]]], "target": [[3]]})", "mem.jsonl", {}));
  ASSERT_EQ(samples.size(), 1u);
  ASSERT_EQ(samples[0].context.size(), 3u);
  EXPECT_THAT(samples[0].context[0].cells, ElementsAre(1));
  EXPECT_THAT(samples[0].context[1].cells, ElementsAre(2));
  EXPECT_THAT(samples[0].context[2].cells, ElementsAre(2));
}

struct BadManifest {
  const char* name;
  const char* message;  // after "<path>:"
};

class ManifestBadFileTest : public ::testing::TestWithParam<BadManifest> {};

TEST_P(ManifestBadFileTest, NamesFileLineAndField) {
  const std::string path = Testdata(GetParam().name);
  EXPECT_THAT(LoadManifestFile(path, {}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   HasSubstr(path + ":" + GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, ManifestBadFileTest,
    ::testing::Values(
        BadManifest{"manifest_bad_row.jsonl", "2: context[0][1]: row has 1 cells, expected 2"},
        BadManifest{"manifest_bad_json.jsonl", "2: invalid JSON: "},
        BadManifest{"manifest_no_shape.jsonl",
                    "2: record: has none of context+target, input+output, frames"},
        BadManifest{"manifest_bad_colour.jsonl", "1: frames[2][0][0]: colour 12 outside 0..9"}));

// A hand-made input to the ASan fuzz build found this (json::dump of the bad cell recursed).
TEST(ManifestTest, DeeplyNestedFrameCellIsAnErrorNotAStackOverflow) {
  const std::string nested = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_THAT(
      ParseManifest("{\"frames\": [[[" + nested + "]]]}", "deep.jsonl", {}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("deep.jsonl:1: frames[0][0][0]: expected an integer colour, got array")));
}

TEST(ManifestTest, OtherErrors) {
  EXPECT_THAT(ParseManifest("[1]\n", "m.jsonl", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.jsonl:1: record: expected a JSON object, got array")));
  EXPECT_THAT(ParseManifest(R"({"id": 5, "input": [[1]], "output": [[1]]})", "m.jsonl", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.jsonl:1: id: expected a string, got number")));
  EXPECT_THAT(
      ParseManifest(R"({"frames": []})", "m.jsonl", {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("m.jsonl:1: frames: no grids")));
  EXPECT_THAT(ParseManifest(R"({"input": "x", "output": [[1]]})", "m.jsonl", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("m.jsonl:1: input: expected a list of rows, got string")));
  EXPECT_THAT(
      ParseManifest("\n  \n", "m.jsonl", {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("m.jsonl: manifest holds no sample")));
  ManifestOptions options;
  options.context_window = 0;
  EXPECT_THAT(ParseManifest("", "m.jsonl", options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data.context_window")));
  options = {};
  options.target_offset = 0;
  EXPECT_THAT(ValidateManifestOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data.target_offset")));
  options = {};
  options.max_file_bytes = 5;
  EXPECT_THAT(LoadManifestFile(Testdata("tiny_manifest.jsonl"), options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit 5")));
  EXPECT_THAT(LoadManifestFile(Testdata("missing.jsonl"), {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.jsonl")));
}

}  // namespace
}  // namespace jepalab::trainer
