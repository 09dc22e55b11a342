#include "cli/plan_commands.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/latest_metrics.h"
#include "cli/plan_files.h"
#include "cli/progress_format.h"
#include "cli/rpc_helpers.h"
#include "common/status_macros.h"
#include "config/plan_submission.h"
#include "proto/scheduler.grpc.pb.h"
#include "proto/scheduler_states.h"

namespace jepalab::cli {
namespace {

namespace sched = ::jepalab::scheduler::v1;

void PrintPlan(const sched::Plan& plan, std::ostream& out) {
  out << "plan " << plan.id() << "  " << PlanStateName(plan.state())
      << ScaleSuffix(config::RecordScale(plan), "  ") << "\n";
  out << "  stages: " << absl::StrJoin(plan.stages_taken(), " -> ");
  if (!plan.current_stage().empty()) out << "  (current: " << plan.current_stage() << ")";
  out << "\n";
  if (!plan.overrides().empty())
    out << "  overrides (every run): " << absl::StrJoin(plan.overrides(), " ") << "\n";
  if (!plan.scenario().empty()) out << "  scenario: " << plan.scenario() << "\n";
  out << absl::StrFormat("  %-20s %-16s %-40s %-10s %s\n", "RUN", "STAGE", "EXPERIMENT", "STATE",
                         "VERDICT");
  for (const auto& run : plan.runs()) {
    out << absl::StrFormat("  %-20s %-16s %-40s %-10s %s\n", run.name(), run.stage(),
                           run.experiment_id().empty() ? "-" : run.experiment_id(),
                           ExperimentStateName(run.state()), run.judged() ? run.verdict() : "-");
  }
  if (!plan.message().empty()) out << "  message: " << plan.message() << "\n";
}

void PrintVerdict(const sched::Plan& plan, std::ostream& out) {
  out << plan.conclusion() << "\n\n" << plan.table();
  if (!plan.table().empty() && plan.table().back() != '\n') out << "\n";
}

// Prints a progress line for each running trainer run of `experiment_id` whose epoch or quarter of
// steps changed since the last call (`printed`: run id -> that key). Errors are skipped: the next
// poll retries.
void PrintPlanRunProgress(sched::SchedulerService::Stub& stub, const std::string& experiment_id,
                          const Endpoints& e, const std::string& stamp,
                          std::map<std::string, std::string>* printed, LossFetcher& losses,
                          std::ostream& out) {
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  sched::GetExperimentRequest request;
  request.set_id(experiment_id);
  sched::GetExperimentResponse response;
  if (!stub.GetExperiment(&context, request, &response).ok()) return;
  for (const auto& run : response.experiment().runs()) {
    if (run.state() != common::v1::RUN_STATE_RUNNING || run.progress().total_steps() <= 0) continue;
    const auto& p = run.progress();
    const std::string key = absl::StrCat(p.epoch(), "/", p.step() * 4 / p.total_steps());
    if ((*printed)[run.run_id()] == key) continue;
    (*printed)[run.run_id()] = key;
    const std::optional<double> loss = LatestLoss(losses.Fetch({run.run_id()}), run.run_id());
    out << stamp << "    " << FormatRunLine(run, /*bar_width=*/0, loss) << "\n";
  }
}

// Polls the plan until it ends, printing each new stage, each change of its runs (with the time a
// finished run took) and, while a run trains, its progress every epoch or quarter of its steps.
// Every line starts with the time since the watch began. OK iff the plan succeeded.
absl::Status WatchPlan(const std::string& id, const Endpoints& e, CommandIo& io) {
  std::ostream& out = io.out;
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  LossFetcher losses(e, io.err);
  const auto begin = std::chrono::steady_clock::now();
  std::map<std::string, std::string> printed;  // run name -> last printed line
  std::map<std::string, std::chrono::steady_clock::time_point>
      running_since;                        // run name -> first seen RUNNING
  std::map<std::string, std::string> took;  // run name -> how long it ran, once ended
  std::map<std::string, std::string> progress_printed;
  int stages_printed = 0;
  sched::Plan plan;
  while (true) {
    JEPALAB_ASSIGN_OR_RETURN(plan, GetPlan(id, e));
    const auto now = std::chrono::steady_clock::now();
    const std::string stamp =
        absl::StrCat("[", FormatDuration(std::chrono::duration<double>(now - begin).count()), "] ");
    for (; stages_printed < plan.stages_taken_size(); ++stages_printed) {
      out << stamp << "stage " << plan.stages_taken(stages_printed) << "\n";
    }
    for (const auto& run : plan.runs()) {
      const bool running = run.state() == sched::EXPERIMENT_STATE_RUNNING;
      if (running) running_since.emplace(run.name(), now);
      const std::string line = absl::StrCat(
          "  ", run.name(), "  ", run.experiment_id(), "  ", ExperimentStateName(run.state()),
          run.same_as().empty() ? "" : absl::StrCat("  (same runs as ", run.same_as(), ")"),
          run.judged() ? absl::StrCat("  ", run.verdict()) : "");
      // The time a run took: from first seen RUNNING to first seen ended (the verdict comes later).
      auto since = running_since.find(run.name());
      if (!running && run.state() != sched::EXPERIMENT_STATE_QUEUED &&
          since != running_since.end()) {
        took.emplace(run.name(),
                     FormatDuration(std::chrono::duration<double>(now - since->second).count()));
      }
      if (printed[run.name()] != line) {
        printed[run.name()] = line;
        auto duration = took.find(run.name());
        out << stamp << line
            << (duration != took.end() ? absl::StrCat("  (", duration->second, ")") : "") << "\n";
      }
      if (running && !run.experiment_id().empty()) {
        PrintPlanRunProgress(*stub, run.experiment_id(), e, stamp, &progress_printed, losses, out);
      }
    }
    out.flush();
    if (scheduler::IsTerminal(plan.state())) break;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  out << "plan " << plan.id() << " finished: " << PlanStateName(plan.state()) << "\n";
  if (plan.state() != sched::PLAN_STATE_SUCCEEDED) {
    if (!plan.message().empty()) out << plan.message() << "\n";
    return Unsuccessful();
  }
  out << "\n";
  PrintVerdict(plan, out);
  return absl::OkStatus();
}

absl::Status Run(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::SubmitPlanRequest request;
  const std::string& path = args.positional[0];
  JEPALAB_RETURN_IF_ERROR(ReadInputFile("plan file", path, request.mutable_plan_yaml()));
  request.set_plan_path(path);
  JEPALAB_ASSIGN_OR_RETURN(const std::string scale, ParsePlanScale(args));
  request.set_scale(scale);
  request.set_mini(scale == config::kScaleMini);  // for schedulers older than `scale`
  JEPALAB_RETURN_IF_ERROR(
      ReadPlanRunConfigs(request.plan_yaml(), path, scale, request.mutable_config_files()));
  for (const auto& o : args.GetAll("set")) request.add_overrides(o);
  JEPALAB_ASSIGN_OR_RETURN(const int priority, ParsePriority(args));
  request.set_priority(priority);
  JEPALAB_ASSIGN_OR_RETURN(const std::vector<int64_t> seeds, ParseSeeds(args));
  for (int64_t seed : seeds) request.add_seeds(seed);
  sched::SubmitPlanResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler SubmitPlan",
                                    &sched::SchedulerService::Stub::SubmitPlan, request,
                                    &response));
  const sched::Plan& plan = response.plan();
  io.out << "submitted plan " << plan.id() << " (stage " << plan.current_stage() << ": "
         << plan.runs_size() << " experiment" << (plan.runs_size() == 1 ? "" : "s") << ")\n";
  if (args.Has("watch")) return WatchPlan(plan.id(), e, io);
  return absl::OkStatus();
}

absl::Status Watch(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  return WatchPlan(args.positional[0], e, io);
}

absl::Status Status(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  JEPALAB_ASSIGN_OR_RETURN(const sched::Plan plan, GetPlan(args.positional[0], e));
  PrintPlan(plan, io.out);
  return absl::OkStatus();
}

absl::Status Verdict(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  JEPALAB_ASSIGN_OR_RETURN(const sched::Plan plan, GetPlan(args.positional[0], e));
  if (plan.state() != sched::PLAN_STATE_SUCCEEDED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "plan ", plan.id(), " has no verdict yet (", PlanStateName(plan.state()),
        plan.current_stage().empty() ? "" : absl::StrCat(", stage ", plan.current_stage()), ")"));
  }
  PrintVerdict(plan, io.out);
  return absl::OkStatus();
}

absl::Status List(const ParsedArgs&, const Endpoints& e, CommandIo& io) {
  sched::ListPlansResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler ListPlans",
                                    &sched::SchedulerService::Stub::ListPlans,
                                    sched::ListPlansRequest(), &response));
  io.out << absl::StrFormat("%-32s %-10s %-8s %-20s %s\n", "PLAN", "STATE", "SCENARIO", "STAGE",
                            "STAGES TAKEN");
  for (const auto& plan : response.plans()) {
    io.out << absl::StrFormat("%-32s %-10s %-8s %-20s %s\n", plan.id(), PlanStateName(plan.state()),
                              plan.scenario().empty() ? "-" : plan.scenario(),
                              plan.current_stage().empty() ? "-" : plan.current_stage(),
                              absl::StrJoin(plan.stages_taken(), " -> "));
  }
  return absl::OkStatus();
}

absl::Status Cancel(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::CancelPlanRequest request;
  request.set_id(args.positional[0]);
  sched::CancelPlanResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler CancelPlan",
                                    &sched::SchedulerService::Stub::CancelPlan, request,
                                    &response));
  io.out << "cancelled plan " << response.plan().id() << "\n";
  return absl::OkStatus();
}

}  // namespace

std::string PlanStateName(sched::PlanState state) {
  switch (state) {
    case sched::PLAN_STATE_RUNNING:
      return "RUNNING";
    case sched::PLAN_STATE_SUCCEEDED:
      return "SUCCEEDED";
    case sched::PLAN_STATE_FAILED:
      return "FAILED";
    case sched::PLAN_STATE_CANCELLED:
      return "CANCELLED";
    default:
      return "UNKNOWN";
  }
}

absl::StatusOr<sched::Plan> GetPlan(const std::string& id, const Endpoints& e) {
  sched::GetPlanRequest request;
  request.set_id(id);
  sched::GetPlanResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler GetPlan",
                                    &sched::SchedulerService::Stub::GetPlan, request, &response));
  return response.plan();
}

std::vector<CommandSpec> PlanCommands() {
  return {
      {"plan run",
       "PLAN.yaml",
       "run a diagnostic plan (configs/plans/); the run configs it\n"
       "names are read here, relative to the working directory, and sent with it",
       {{"scale", "S",
         "run each config's _S sibling: repro (the sixth run time-compressed) or mini (quick)"},
        {"mini", "", "the same as --scale mini"},
        {"set", "key=value",
         "override a config key of every run, e.g. a data source or device (repeatable)", true},
        {"seed", "N", "seeds of every run (repeatable; default: the plan's)", true},
        {"priority", "N",
         "higher runs first; within a priority, plans, sweeps and experiments take turns"},
        {"watch", "", "follow the plan to its end, then print its verdict"}},
       1,
       1,
       Run},
      {"plan watch",
       "PLAN_ID",
       "follow a plan to its end (stages, runs, progress), then its verdict",
       {},
       1,
       1,
       Watch},
      {"plan status",
       "PLAN_ID",
       "stages taken, each run's experiment, state and verdict",
       {},
       1,
       1,
       Status},
      {"plan verdict",
       "PLAN_ID",
       "the written conclusion and the table of every run",
       {},
       1,
       1,
       Verdict},
      {"plan list", "", "plans and their states", {}, 0, 0, List},
      {"plan cancel", "PLAN_ID", "cancel a plan's running experiments", {}, 1, 1, Cancel},
  };
}

}  // namespace jepalab::cli
