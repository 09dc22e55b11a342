#include "trainer_service/core/data/arc_loader.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "common/testing/shared_data.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::trainer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StatusIs;

constexpr char kTestdata[] = "trainer_service/core/data/testdata/";

std::string Testdata(const std::string& name) { return kTestdata + name; }

TEST(ArcLoaderTest, LoadsAGoodFile) {
  JEPALAB_ASSERT_OK_AND_ASSIGN(const ArcTask task, LoadArcTaskFile(Testdata("arc_good.json"), {}));
  EXPECT_EQ(task.id, "arc_good");
  ASSERT_EQ(task.train.size(), 1u);
  ASSERT_EQ(task.test.size(), 1u);
  EXPECT_EQ(task.train[0].input.height, 2);
  EXPECT_EQ(task.train[0].input.width, 2);
  EXPECT_THAT(task.train[0].input.cells, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(task.train[0].output.cells, ElementsAre(4));
  EXPECT_THAT(task.test[0].output.cells, ElementsAre(9));

  const std::vector<GridSample> samples = ArcTasksToSamples({task}, "arc", 3, false);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].id, "arc_arc_good_train_00");
  ASSERT_EQ(samples[0].context.size(), 3u);  // (input,) repeated to the window
  for (const Grid& g : samples[0].context) EXPECT_EQ(g, task.train[0].input);
  EXPECT_EQ(samples[0].target, task.train[0].output);
  const std::vector<GridSample> with_test = ArcTasksToSamples({task}, "arc", 1, true);
  ASSERT_EQ(with_test.size(), 2u);
  EXPECT_EQ(with_test[1].id, "arc_arc_good_test_00");
}

struct BadFile {
  const char* name;
  const char* message;  // must appear after "<path>: "
};

class ArcLoaderBadFileTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(ArcLoaderBadFileTest, IsInvalidArgumentNamingFileAndField) {
  const std::string path = Testdata(GetParam().name);
  EXPECT_THAT(LoadArcTaskFile(path, {}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr(path + ": " + GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, ArcLoaderBadFileTest,
    ::testing::Values(
        BadFile{"arc_ragged_row.json", "train[1].input[1]: row has 2 cells, expected 3"},
        BadFile{"arc_colour_out_of_range.json", "train[0].input[1][1]: colour 10 outside 0..9"},
        BadFile{"arc_negative_colour.json", "train[0].input[0][1]: colour -1 outside 0..9"},
        BadFile{"arc_empty_grid.json", "train[0].input: grid has no rows"},
        BadFile{"arc_empty_row.json", "train[0].input[0]: row has no cells"},
        BadFile{"arc_string_cell.json",
                "train[0].input[0][1]: expected an integer colour, got \"2\""},
        BadFile{"arc_float_cell.json", "train[0].input[0][1]: expected an integer colour, got 2.5"},
        BadFile{"arc_missing_output.json", "train[0]: missing key \"output\""},
        BadFile{"arc_missing_test.json", "missing key \"test\""},
        BadFile{"arc_train_not_list.json", "train: expected a list of pairs, got object"},
        BadFile{"arc_row_not_list.json",
                "train[0].input[0]: expected a row (list of integers), got number"},
        BadFile{"arc_not_object.json", "task: expected an object"},
        BadFile{"arc_invalid_json.json", "task: invalid JSON: "},
        BadFile{"arc_no_train.json", "train: no pairs"}));

TEST(ArcLoaderTest, FileSizeLimit) {
  ArcLoaderOptions options;
  options.max_file_bytes = 10;
  const std::string path = Testdata("arc_good.json");
  EXPECT_THAT(LoadArcTaskFile(path, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(path + ": file is ")));
  EXPECT_THAT(LoadArcTaskFile(path, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bytes, limit 10")));
}

// A syntactically valid task of exactly 10 MiB: one 1000-wide grid of 5000 rows, then spaces.
std::string WriteTenMegabyteTask() {
  constexpr size_t kBytes = size_t{10} << 20;
  std::string row = "[";
  for (int x = 0; x < 1000; ++x) row += x == 0 ? "1" : ",1";
  row += "]";
  std::string text = "{\"train\": [{\"input\": [";
  for (int y = 0; y < 5000; ++y) text += (y == 0 ? "" : ",") + row;
  text += "], \"output\": [[1]]}], \"test\": []}";
  text.resize(kBytes, ' ');
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/ten_megabytes.json";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// A 10 MB file is refused by its size before a byte is read (the default limit is 4 MiB, 140x
// the largest ARC-AGI-1 task); with the limit raised, the 30x30 grid limit still rejects it.
TEST(ArcLoaderTest, TenMegabyteFileIsRefusedBySizeThenByGridSide) {
  const std::string path = WriteTenMegabyteTask();
  EXPECT_THAT(LoadArcTaskFile(path, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + ": file is 10485760 bytes, limit 4194304")));
  ArcLoaderOptions large;
  large.max_file_bytes = 16 << 20;
  EXPECT_THAT(LoadArcTaskFile(path, large),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + ": train[0].input: grid is 5000x1000, max side 30")));
}

// Found with a hand-made input to the ASan fuzz build: the error for a non-integer cell printed
// the cell with json::dump, which recursed 200000 deep here and overflowed the stack.
TEST(ArcLoaderTest, DeeplyNestedCellIsAnErrorNotAStackOverflow) {
  const std::string nested = std::string(200000, '[') + std::string(200000, ']');
  const std::string text = "{\"train\": [{\"input\": [[1, " + nested + "]], \"output\": [[1]]}]}";
  EXPECT_THAT(
      ParseArcTask(text, "deep.json", "deep", {}),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("deep.json: train[0].input[0][1]: expected an integer colour, got array")));
  const std::string long_string =
      "{\"train\": [{\"input\": [[\"" + std::string(1000, 'x') + "\"]], \"output\": [[1]]}]}";
  EXPECT_THAT(ParseArcTask(long_string, "s.json", "s", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("got \"" + std::string(39, 'x') + "...")));
}

TEST(ArcLoaderTest, GridSideLimitAndMissingFile) {
  ArcLoaderOptions options;
  options.max_grid_side = 1;
  EXPECT_THAT(LoadArcTaskFile(Testdata("arc_good.json"), options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("train[0].input: grid is 2x2, max side 1")));
  EXPECT_THAT(LoadArcTaskFile(Testdata("no_such_task.json"), {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no_such_task.json")));
  EXPECT_THAT(LoadArcTaskDir(Testdata("no_such_dir"), {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no_such_dir")));
}

TEST(ArcLoaderTest, ParsesTextWithoutAFile) {
  EXPECT_THAT(ParseArcTask("{\"train\": 5, \"test\": []}", "mem.json", "mem", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("mem.json: train: expected a list of pairs, got number")));
  EXPECT_THAT(
      ParseArcTask("", "mem.json", "mem", {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mem.json: task: invalid JSON")));
  EXPECT_THAT(ParseArcTask("{\"train\": [{\"input\": [[true]], \"output\": [[1]]}], \"test\": []}",
                           "mem.json", "mem", {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("train[0].input[0][0]: expected an integer colour, got true")));
  EXPECT_THAT(
      ParseArcTask("{\"train\": [{\"input\": [[99999999999999999999]], \"output\": [[1]]}], "
                   "\"test\": []}",
                   "mem.json", "mem", {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("train[0].input[0][0]")));
}

// All 400 tasks of ../shared/data/arc-agi-1/data/training.
TEST(ArcLoaderTest, LoadsAllArcAgi1TrainingTasks) {
  JEPALAB_SHARED_PATH_OR_SKIP(dir, "data/arc-agi-1/data/training");
  JEPALAB_ASSERT_OK_AND_ASSIGN(const std::vector<ArcTask> tasks, LoadArcTaskDir(dir, {}));
  EXPECT_EQ(tasks.size(), 400u);
  size_t train_pairs = 0, test_pairs = 0;
  int max_side = 0;
  std::set<int> colours;
  for (const ArcTask& task : tasks) {
    EXPECT_EQ(task.id.size(), 8u) << task.id;
    EXPECT_GE(task.train.size(), 1u) << task.id;
    EXPECT_GE(task.test.size(), 1u) << task.id;
    train_pairs += task.train.size();
    test_pairs += task.test.size();
    for (const auto* pairs : {&task.train, &task.test}) {
      for (const ArcPair& pair : *pairs) {
        for (const Grid* g : {&pair.input, &pair.output}) {
          ASSERT_GE(g->height, 1);
          ASSERT_GE(g->width, 1);
          ASSERT_EQ(g->cells.size(), static_cast<size_t>(g->height) * g->width);
          max_side = std::max({max_side, g->height, g->width});
          colours.insert(g->cells.begin(), g->cells.end());
        }
      }
    }
  }
  // Counts of the public ARC-AGI-1 training set.
  EXPECT_EQ(train_pairs, 1302u);
  EXPECT_EQ(test_pairs, 416u);
  EXPECT_EQ(max_side, 30);
  EXPECT_EQ(*colours.begin(), 0);
  EXPECT_EQ(*colours.rbegin(), 9);
  EXPECT_EQ(tasks.front().id, "007bbfb7");
  EXPECT_EQ(ArcTasksToSamples(tasks, "arc_agi_1", 3, false).size(), train_pairs);
}

}  // namespace
}  // namespace jepalab::trainer
