#include "common/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gtest/gtest.h"

namespace jepalab::common {
namespace {

using ::jepalab::testing::MakeTempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsOk;
using ::testing::StatusIs;

TEST(ReadFileTest, ReadsEveryByte) {
  const std::string path = MakeTempDir("read_") + "/f.bin";
  std::string bytes("a\0b\nc", 5);
  bytes += std::string(200000, 'z');  // more than one read() buffer
  std::ofstream(path, std::ios::binary) << bytes;
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::string got, ReadFile(path));
  EXPECT_EQ(got, bytes);
}

TEST(ReadFileTest, ReadsEmptyFileAndProcFile) {
  const std::string path = MakeTempDir("empty_") + "/f";
  std::ofstream(path).flush();
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::string got, ReadFile(path));
  EXPECT_EQ(got, "");
  // /proc files report size 0 but have contents.
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::string cmdline, ReadFile("/proc/self/cmdline"));
  EXPECT_FALSE(cmdline.empty());
}

TEST(ReadFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = MakeTempDir("missing_") + "/nope.yaml";
  EXPECT_THAT(ReadFile(path),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("cannot read " + path), HasSubstr("No such file"))));
}

TEST(ReadFileTest, UnreadableFileIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads every file";
  const std::string path = MakeTempDir("denied_") + "/secret";
  std::ofstream(path) << "x";
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  EXPECT_THAT(ReadFile(path),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("cannot read " + path)));
}

TEST(ReadFileTest, DirectoryIsInvalidArgument) {
  const std::string dir = MakeTempDir("dir_");
  EXPECT_THAT(ReadFile(dir), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(dir)));
}

TEST(WriteFileAtomicallyTest, ReplacesTheFileAndLeavesNoTemporary) {
  const std::string path = MakeTempDir("write_") + "/out.pb";
  ASSERT_THAT(WriteFileAtomically(path, "old"), IsOk());
  ASSERT_THAT(WriteFileAtomically(path, std::string("n\0ew", 4)), IsOk());
  JEPALAB_ASSERT_OK_AND_ASSIGN(std::string got, ReadFile(path));
  EXPECT_EQ(got, std::string("n\0ew", 4));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(WriteFileAtomicallyTest, MissingDirectoryIsNotFoundNamingTheFile) {
  const std::string path = MakeTempDir("write_missing_") + "/no/dir/out";
  EXPECT_THAT(WriteFileAtomically(path, "x"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot write " + path + ".tmp")));
}

TEST(JoinPathTest, JoinsRelativePathsWithOneSeparator) {
  EXPECT_EQ(JoinPath("configs", "training/a.yaml"), "configs/training/a.yaml");
  EXPECT_EQ(JoinPath("configs/", "a.yaml"), "configs/a.yaml");
  EXPECT_EQ(JoinPath("", "a.yaml"), "a.yaml");
  EXPECT_EQ(JoinPath("configs", "/abs/a.yaml"), "/abs/a.yaml");
  EXPECT_EQ(JoinPath("configs", ""), "configs");
}

}  // namespace
}  // namespace jepalab::common
