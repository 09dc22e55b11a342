// The dispatcher: every command's --help/-h/`help COMMAND` prints its usage and exits 0 without
// contacting a service; flags are checked per command; --version; global flags before or after
// the command.
#include "cli/command_table.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/command_help.h"
#include "cli/fake_services.h"
#include "cli/version.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jepalab::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// A plain TCP listener that never answers: the kernel completes any connection attempt into its
// backlog, so Connections() after a command says whether the command dialled a service at all.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), size), 0);
    EXPECT_EQ(listen(fd_, 64), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size), 0);
    fcntl(fd_, F_SETFL, O_NONBLOCK);
    address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  }
  ~Listener() { close(fd_); }
  const std::string& address() const { return address_; }

  // Connections made since the last call.
  int Connections() {
    int count = 0;
    for (int fd; (fd = accept(fd_, nullptr, nullptr)) >= 0; ++count) close(fd);
    return count;
  }

 private:
  int fd_ = -1;
  std::string address_;
};

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result Jepalab(std::vector<std::string> args) {
  std::ostringstream out, err;
  CommandIo io{out, err, false};
  const int code = RunJepalab(args, io);
  return {code, out.str(), err.str()};
}

// Plausible arguments for the command, so that --help is not the only thing on the line.
std::vector<std::string> WithArguments(const CommandSpec& command) {
  std::vector<std::string> args = absl::StrSplit(command.name, ' ');
  for (int i = 0; i < command.min_args; ++i) args.push_back(absl::StrCat("arg", i));
  return args;
}

TEST(CommandTableTest, EveryCommandsHelpPrintsItsUsageAndContactsNoService) {
  Listener services;
  const std::vector<std::string> endpoints = {"--scheduler=" + services.address(),
                                              "--trainer=" + services.address(),
                                              "--metrics=" + services.address(), "--timeout=1"};
  ASSERT_GE(Commands().size(), 20u);
  for (const CommandSpec& command : Commands()) {
    const std::string usage = absl::StrCat("usage: jepalab ", command.name);
    std::vector<std::string> base = WithArguments(command);
    base.insert(base.end(), endpoints.begin(), endpoints.end());
    std::vector<std::vector<std::string>> lines;
    for (const char* help : {"--help", "-h"}) {
      lines.push_back(base);
      lines.back().push_back(help);  // after the arguments
      lines.push_back(base);
      lines.back().insert(lines.back().begin(), help);  // before the command
    }
    lines.push_back(base);
    lines.back().insert(lines.back().begin(), "help");
    for (const std::vector<std::string>& line : lines) {
      const std::string shown = absl::StrJoin(line, " ");
      const Result result = Jepalab(line);
      EXPECT_EQ(result.code, 0) << shown << "\n" << result.err;
      EXPECT_THAT(result.out, StartsWith(usage)) << shown;
      EXPECT_EQ(result.out, CommandHelp(command)) << shown;
      EXPECT_THAT(result.err, IsEmpty()) << shown;
      EXPECT_EQ(services.Connections(), 0) << shown << " contacted a service";
    }
  }
}

TEST(CommandTableTest, HelpWinsOverBadFlagsAndArguments) {
  Listener services;
  const Result result =
      Jepalab({"cancel", "a", "b", "--bogus", "--timeout=-1", "--scheduler=" + services.address(),
               "--auth_token_file=/nonexistent", "--help"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_THAT(result.out, StartsWith("usage: jepalab cancel EXPERIMENT_ID\n"));
  EXPECT_EQ(services.Connections(), 0);
}

// Without --help the same probe sees the command's connection: the listener does detect RPCs.
TEST(CommandTableTest, TheProbeSeesACommandThatDoesConnect) {
  Listener services;
  const Result result = Jepalab({"list", "--scheduler=" + services.address(), "--timeout=0.5"});
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("scheduler ListExperiments"));
  EXPECT_GE(services.Connections(), 1);
}

TEST(CommandTableTest, GroupHelpListsItsCommands) {
  const Result help = Jepalab({"plan", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("usage: jepalab plan run PLAN.yaml [--scale S] [--mini]"));
  EXPECT_THAT(help.out, HasSubstr("usage: jepalab plan cancel PLAN_ID\n"));
  EXPECT_EQ(Jepalab({"help", "schedule"}).code, 0);
  const Result bare = Jepalab({"plan"});
  EXPECT_EQ(bare.code, 2);
  EXPECT_THAT(bare.err, HasSubstr("usage: jepalab plan watch PLAN_ID\n"));
  const Result unknown = Jepalab({"sweep", "launch"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command \"sweep launch\""));
  EXPECT_THAT(unknown.err, HasSubstr("usage: jepalab sweep submit SWEEP.yaml"));
}

TEST(CommandTableTest, TopLevelUsageListsEveryCommand) {
  const Result help = Jepalab({"help"});
  EXPECT_EQ(help.code, 0);
  for (const CommandSpec& command : Commands())
    EXPECT_THAT(help.out, HasSubstr("  " + command.name)) << command.name;
  EXPECT_THAT(help.out, HasSubstr("--auth_token_file TOKEN_FILE"));
  EXPECT_EQ(Jepalab({"--help"}).out, help.out);
  EXPECT_EQ(Jepalab({"-h"}).code, 0);
  const Result bare = Jepalab({});
  EXPECT_EQ(bare.code, 2);
  EXPECT_EQ(bare.out, help.out);
  const Result unknown = Jepalab({"frobnicate"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, StartsWith("jepalab: unknown command \"frobnicate\"\n"));
  EXPECT_EQ(Jepalab({"help", "frobnicate"}).code, 2);
}

TEST(CommandTableTest, Version) {
  for (const std::vector<std::string>& line : std::vector<std::vector<std::string>>{
           {"--version"}, {"version"}, {"--scheduler=127.0.0.1:1", "--version"}}) {
    const Result result = Jepalab(line);
    EXPECT_EQ(result.code, 0);
    EXPECT_EQ(result.out, absl::StrCat(kVersion, "\n"));
  }
  EXPECT_THAT(kVersion, StartsWith("jepalab "));
}

TEST(CommandTableTest, AFlagOfAnotherCommandIsRefusedNamingIt) {
  Listener services;
  const Result result =
      Jepalab({"cancel", "x-0001", "--watch", "--scheduler=" + services.address()});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "jepalab cancel: unknown flag --watch (see jepalab cancel --help)\n");
  const Result cron = Jepalab({"list", "--cron", "@daily", "--scheduler=" + services.address()});
  EXPECT_EQ(cron.code, 2);
  EXPECT_THAT(cron.err, HasSubstr("unknown flag --cron"));
  EXPECT_EQ(Jepalab({"plan", "list", "--bogus=1"}).code, 2);
  const Result short_flag = Jepalab({"-o", "x.html", "plan", "list"});  // report's -o
  EXPECT_EQ(short_flag.code, 2);
  EXPECT_EQ(short_flag.err,
            "jepalab plan list: unexpected \"-o\" (see jepalab plan list --help)\n");
  EXPECT_EQ(services.Connections(), 0);
}

TEST(CommandTableTest, WrongArgumentCountPrintsTheUsageLine) {
  const Result missing = Jepalab({"cancel"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.err, "usage: jepalab cancel EXPERIMENT_ID\n");
  const Result extra = Jepalab({"plan", "status", "a", "b"});
  EXPECT_EQ(extra.code, 2);
  EXPECT_EQ(extra.err, "usage: jepalab plan status PLAN_ID\n");
  EXPECT_EQ(Jepalab({"compare"}).code, 2);
}

TEST(CommandTableTest, BadGlobalFlagValuesAreUsageErrors) {
  const Result timeout = Jepalab({"list", "--timeout=zero"});
  EXPECT_EQ(timeout.code, 2);
  EXPECT_EQ(timeout.err, "jepalab: --timeout: expected a positive number of seconds\n");
  const Result token = Jepalab({"list", "--auth_token_file=/nonexistent/token"});
  EXPECT_EQ(token.code, 2);
  EXPECT_THAT(token.err, StartsWith("jepalab: --auth_token_file"));
}

TEST(CommandTableTest, GlobalFlagsGoBeforeOrAfterTheCommand) {
  FakeScheduler scheduler;
  scheduler.experiment.set_id("exp-0001");
  LocalServer server({&scheduler});
  for (const std::vector<std::string>& line : std::vector<std::vector<std::string>>{
           {"--scheduler", server.address(), "--timeout=10", "cancel", "exp-0001"},
           {"cancel", "--scheduler=" + server.address(), "exp-0001", "--timeout", "10"},
           {"plan", "--scheduler", server.address(), "list"}}) {
    const Result result = Jepalab(line);
    EXPECT_EQ(result.code, 0) << absl::StrJoin(line, " ") << "\n" << result.err;
  }
  EXPECT_THAT(scheduler.calls(), ::testing::ElementsAre("CancelExperiment exp-0001",
                                                        "CancelExperiment exp-0001", "ListPlans"));
}

// Scan() skips a flag's value by the flag's name alone, so a name must mean one kind of flag in
// every command, and no command may reuse a global flag's name.
TEST(CommandTableTest, FlagNamesMeanOneThingAcrossTheTable) {
  std::map<std::string, bool> takes_value;
  std::map<std::string, std::string> short_names;
  for (const FlagSpec& flag : GlobalFlags()) takes_value[flag.name] = !flag.value.empty();
  std::map<std::string, std::string> names;
  for (const CommandSpec& command : Commands()) {
    EXPECT_TRUE(names.emplace(command.name, command.name).second)
        << "two commands named " << command.name;
    EXPECT_FALSE(command.summary.empty()) << command.name;
    EXPECT_TRUE(command.run) << command.name;
    EXPECT_TRUE(command.max_args < 0 || command.max_args >= command.min_args) << command.name;
    for (const FlagSpec& flag : command.flags) {
      EXPECT_NE(flag.name, "help");
      EXPECT_NE(flag.name, "version");
      for (const FlagSpec& global : GlobalFlags())
        EXPECT_NE(flag.name, global.name) << command.name;
      auto [it, inserted] = takes_value.emplace(flag.name, !flag.value.empty());
      EXPECT_EQ(it->second, !flag.value.empty()) << "--" << flag.name << " in " << command.name;
      if (!flag.short_name.empty()) {
        EXPECT_NE(flag.short_name, "h");
        auto [s, fresh] = short_names.emplace(flag.short_name, flag.name);
        EXPECT_EQ(s->second, flag.name) << "-" << flag.short_name;
      }
    }
  }
}

}  // namespace
}  // namespace jepalab::cli
