// Wall time of a whole diagnostic plan (issue 5, "Speed"): starts the real metrics, trainer (one,
// two runs at a time by default, as tools/quickstart.sh) and scheduler servers, submits the plan
// (default: vq_diagnostic at the reproduction scale over seeds 123-125, as tools/quickstart.sh),
// follows it to the end, then prints per run where its time went and the plan's total:
//   bazel run -c opt //bench:plan_wall_time [-- --plan=configs/plans/vq_diagnostic.yaml
//   --scale=mini --seeds=123,124]   (the second line: tools/quickstart.sh --quick)
// Columns (from the trainer's own run timestamps, so polling does not blur them):
//   gap     idle time before the trainer got the run (since the previous run ended, or since
//           the plan was submitted): scheduler dispatch and stage transitions;
//   setup   StartRun until the worker started training (worker spawn, data, model);
//   run     training loop as the trainer measured it; wall: StartRun until the run ended.
// trainer_server runs its workers with OMP_WAIT_POLICY=PASSIVE when its runs oversubscribe the
// cores, else with a short spin (GOMP_SPINCOUNT=1000), unless the environment sets either
// (OMP_WAIT_POLICY=ACTIVE compares): on a loaded 2-core host, spinning OpenMP threads made the
// plan ~20x slower (docs/performance.md).
#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/testing/service_process.h"
#include "proto/scheduler.grpc.pb.h"
#include "proto/trainer.grpc.pb.h"
#include "tests/service_stack.h"

ABSL_FLAG(std::string, plan, "configs/plans/vq_diagnostic.yaml", "Plan file (runfiles-relative).");
ABSL_FLAG(std::string, scale, "repro",
          "Config family: repro (the main job), mini (tools/quickstart.sh --quick), or empty for "
          "the plan's full-size configs.");
ABSL_FLAG(std::vector<std::string>, seeds, std::vector<std::string>({"123", "124", "125"}),
          "Seeds of every run (as tools/quickstart.sh); empty: the plan's own.");
ABSL_FLAG(int, runs_at_once, 2,
          "trainer_server --max_concurrent_runs (as tools/quickstart.sh; 1: one run at a time).");
ABSL_FLAG(int, timeout_minutes, 120, "Give up (and cancel the plan) after this long.");

namespace jepalab::bench {
namespace {

namespace sched = ::jepalab::scheduler::v1;
namespace trainer = ::jepalab::trainer::v1;
using ::jepalab::testing::RunfilePath;
using ::jepalab::testing::ServiceStack;
using ::jepalab::testing::ServiceStackOptions;

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::string StateName(const sched::Plan& plan) {
  return std::string(absl::StripPrefix(sched::PlanState_Name(plan.state()), "PLAN_STATE_"));
}

bool Finished(const sched::Plan& plan) {
  return plan.state() == sched::PLAN_STATE_SUCCEEDED || plan.state() == sched::PLAN_STATE_FAILED ||
         plan.state() == sched::PLAN_STATE_CANCELLED;
}

// Polls the plan every second until it ends, printing each new stage and each run's state change
// with the seconds since submission.
absl::Status Follow(sched::SchedulerService::Stub& stub, const std::string& id, sched::Plan* plan) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::minutes(absl::GetFlag(FLAGS_timeout_minutes));
  std::map<std::string, std::string> printed;
  int stages = 0;
  while (true) {
    grpc::ClientContext context;
    sched::GetPlanRequest request;
    request.set_id(id);
    sched::GetPlanResponse response;
    grpc::Status status = stub.GetPlan(&context, request, &response);
    if (!status.ok())
      return absl::UnavailableError(absl::StrCat("GetPlan: ", status.error_message()));
    *plan = response.plan();
    const double t =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (; stages < plan->stages_taken_size(); ++stages) {
      std::printf("[%7.1fs] stage %s\n", t, plan->stages_taken(stages).c_str());
    }
    for (const auto& run : plan->runs()) {
      std::string line = absl::StrCat(
          run.name(), "  ",
          absl::StripPrefix(sched::ExperimentState_Name(run.state()), "EXPERIMENT_STATE_"),
          run.judged() ? absl::StrCat("  ", run.verdict()) : "");
      if (printed[run.name()] == line) continue;
      printed[run.name()] = line;
      std::printf("[%7.1fs]   %s\n", t, line.c_str());
    }
    std::fflush(stdout);
    if (Finished(*plan)) return absl::OkStatus();
    if (std::chrono::steady_clock::now() > deadline) {
      grpc::ClientContext cancel_context;
      sched::CancelPlanRequest cancel;
      cancel.set_id(id);
      sched::CancelPlanResponse cancelled;
      stub.CancelPlan(&cancel_context, cancel, &cancelled);
      return absl::DeadlineExceededError("plan still running at --timeout_minutes; cancelled");
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

struct Row {
  std::string name;
  std::string stage;
  trainer::Run run;
};

void PrintTimes(const sched::Plan& plan, const std::map<std::string, trainer::Run>& runs) {
  std::vector<Row> rows;
  for (const auto& status : plan.runs()) {
    if (!status.same_as().empty()) continue;  // shares an earlier run's experiment: counted there
    for (const std::string& run_id : status.run_ids()) {
      auto it = runs.find(run_id);
      if (it != runs.end()) rows.push_back({status.name(), status.stage(), it->second});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.run.created_unix_ms() < b.run.created_unix_ms();
  });
  std::printf("\n%-26s %-10s %8s %7s %7s %7s %7s\n", "run", "stage", "start_s", "gap_s", "setup_s",
              "run_s", "wall_s");
  // gap: time with no run on the trainer before this one started (runs may overlap).
  int64_t previous_end = plan.created_unix_ms();
  double gaps = 0, walls = 0, setups = 0, loops = 0;
  for (const Row& row : rows) {
    const trainer::Run& r = row.run;
    const double gap = Seconds(std::max<int64_t>(0, r.created_unix_ms() - previous_end));
    const double setup =
        r.started_unix_ms() > 0 ? Seconds(r.started_unix_ms() - r.created_unix_ms()) : 0;
    const double wall = Seconds(r.finished_unix_ms() - r.created_unix_ms());
    const double loop = r.progress().elapsed_seconds();
    std::printf("%-26s %-10s %8.1f %7.1f %7.1f %7.1f %7.1f\n", row.name.c_str(), row.stage.c_str(),
                Seconds(r.created_unix_ms() - plan.created_unix_ms()), gap, setup, loop, wall);
    gaps += gap;
    walls += wall;
    setups += setup;
    loops += loop;
    previous_end = std::max(previous_end, r.finished_unix_ms());
  }
  const double total = Seconds(plan.finished_unix_ms() - plan.created_unix_ms());
  const double tail = Seconds(plan.finished_unix_ms() - previous_end);
  std::printf("%-26s %-10s %8s %7.1f %7.1f %7.1f %7.1f\n", "sum", "", "", gaps, setups, loops,
              walls);
  std::printf(
      "\nplan %s %s: %d runs trained, total wall time %.1f s (%.1f min): run walls %.1f s (%.2f "
      "runs at a time on average), idle gaps %.1f s, verdict after the last run %.1f s\n",
      plan.id().c_str(), StateName(plan).c_str(), static_cast<int>(rows.size()), total, total / 60,
      walls, total > gaps + tail ? walls / (total - gaps - tail) : 0.0, gaps, tail);
  std::printf("stages: %s; scenario %s\n", absl::StrJoin(plan.stages_taken(), " -> ").c_str(),
              plan.scenario().empty() ? "-" : plan.scenario().c_str());
}

absl::Status Run() {
  const std::string plan_file = absl::GetFlag(FLAGS_plan);
  const std::string plan_path = RunfilePath(plan_file);
  absl::StatusOr<std::string> yaml = jepalab::common::ReadFile(plan_path);
  if (!yaml.ok()) return yaml.status();
  // The scheduler reads the plan's configs from the runfiles tree (its --config_root).
  ServiceStackOptions options;
  options.trainer_flags = {
      absl::StrCat("--max_concurrent_runs=", absl::GetFlag(FLAGS_runs_at_once))};
  absl::StatusOr<std::unique_ptr<ServiceStack>> stack = ServiceStack::Start(options);
  if (!stack.ok()) return stack.status();
  std::printf("data and logs: %s\n", (*stack)->root().c_str());

  auto sched_stub = sched::SchedulerService::NewStub(
      grpc::CreateChannel((*stack)->scheduler().address(), grpc::InsecureChannelCredentials()));
  sched::SubmitPlanRequest submit;
  submit.set_plan_yaml(*yaml);
  submit.set_plan_path(plan_file);
  submit.set_scale(absl::GetFlag(FLAGS_scale));
  for (const std::string& text : absl::GetFlag(FLAGS_seeds)) {
    int64_t seed = 0;
    if (!absl::SimpleAtoi(text, &seed))
      return absl::InvalidArgumentError(absl::StrCat("--seeds: not an integer: ", text));
    submit.add_seeds(seed);
  }
  sched::SubmitPlanResponse submitted;
  {
    grpc::ClientContext context;
    grpc::Status status = sched_stub->SubmitPlan(&context, submit, &submitted);
    if (!status.ok())
      return absl::InvalidArgumentError(absl::StrCat("SubmitPlan: ", status.error_message()));
  }
  std::printf("submitted plan %s (%s%s), one trainer, %d run(s) at a time\n",
              submitted.plan().id().c_str(), plan_file.c_str(),
              submit.scale().empty() ? "" : (", scale " + submit.scale()).c_str(),
              absl::GetFlag(FLAGS_runs_at_once));
  sched::Plan plan;
  absl::Status followed = Follow(*sched_stub, submitted.plan().id(), &plan);
  if (!followed.ok()) return followed;

  auto trainer_stub = trainer::TrainerService::NewStub(
      grpc::CreateChannel((*stack)->trainer().address(), grpc::InsecureChannelCredentials()));
  trainer::ListRunsResponse listed;
  {
    grpc::ClientContext context;
    grpc::Status status = trainer_stub->ListRuns(&context, trainer::ListRunsRequest(), &listed);
    if (!status.ok())
      return absl::UnavailableError(absl::StrCat("ListRuns: ", status.error_message()));
  }
  std::map<std::string, trainer::Run> runs;
  for (const auto& run : listed.runs()) runs[run.run_id()] = run;
  PrintTimes(plan, runs);
  std::printf("\n%s\n\n%s\n", plan.conclusion().c_str(), plan.table().c_str());
  if (plan.state() != sched::PLAN_STATE_SUCCEEDED) {
    return absl::InternalError(absl::StrCat("plan ended ", StateName(plan), ": ", plan.message()));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace jepalab::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const char* wait_policy = getenv("OMP_WAIT_POLICY");
  std::printf("worker environment: OMP_WAIT_POLICY=%s\n",
              wait_policy != nullptr
                  ? wait_policy
                  : "(unset: trainer_server's choice, PASSIVE only when its runs "
                    "oversubscribe the cores)");
  absl::Status status = jepalab::bench::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "plan_wall_time: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
