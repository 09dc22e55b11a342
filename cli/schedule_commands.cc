#include "cli/schedule_commands.h"

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/plan_files.h"
#include "cli/rpc_helpers.h"
#include "cli/schedule_format.h"
#include "common/status_macros.h"
#include "config/plan.h"
#include "config/sweep_file.h"
#include "proto/scheduler.grpc.pb.h"

namespace jepalab::cli {
namespace {

using ::jepalab::config::LoadSweepFile;
namespace sched = ::jepalab::scheduler::v1;

// The CreateSchedule request from the flags; a UsageError for a flag that is missing or does not
// fit the target.
absl::Status BuildCreateRequest(const ParsedArgs& args, sched::CreateScheduleRequest* request) {
  request->set_name(args.positional[0]);
  request->set_cron(args.Get("cron"));
  request->set_paused(args.Has("paused"));
  if (request->cron().empty()) {
    return UsageError(
        "schedule add: --cron is required, e.g. --cron \"0 2 * * *\" (02:00 UTC daily)");
  }
  const std::string plan_path = args.Get("plan");
  const std::string sweep_path = args.Get("sweep");
  if (plan_path.empty() == sweep_path.empty()) {
    return UsageError("schedule add: give exactly one of --plan FILE and --sweep FILE");
  }
  if (!sweep_path.empty()) {
    if (args.Has("mini") || args.Has("scale") || !args.GetAll("seed").empty() ||
        !args.GetAll("set").empty()) {
      return UsageError(
          "schedule add: --scale, --mini, --set and --seed apply to --plan; a sweep file names its "
          "config, "
          "overrides and "
          "seeds");
    }
    // Read here, so the schedule carries the sweep (and its base config) as it is now.
    absl::StatusOr<sched::SubmitSweepRequest> sweep = LoadSweepFile(sweep_path, "");
    if (!sweep.ok())
      return absl::Status(sweep.status().code(),
                          absl::StrCat("--sweep: ", sweep.status().message()));
    if (args.Has("stop_on_collapse")) sweep->mutable_stop_on_collapse()->set_enabled(true);
    *request->mutable_sweep() = *std::move(sweep);
    return absl::OkStatus();
  }
  if (args.Has("stop_on_collapse")) {
    return UsageError(
        "schedule add: --stop_on_collapse applies to --sweep; a plan sets stop_on_collapse in its "
        "file");
  }
  sched::SchedulePlanTarget* plan = request->mutable_plan();
  JEPALAB_RETURN_IF_ERROR(ReadInputFile("--plan file", plan_path, plan->mutable_plan_yaml()));
  plan->set_plan_path(plan_path);
  JEPALAB_ASSIGN_OR_RETURN(const std::string scale, ParsePlanScale(args));
  plan->set_scale(scale);
  plan->set_mini(scale == config::kScaleMini);
  JEPALAB_RETURN_IF_ERROR(
      ReadPlanRunConfigs(plan->plan_yaml(), plan_path, scale, plan->mutable_config_files()));
  for (const auto& o : args.GetAll("set")) plan->add_overrides(o);
  JEPALAB_ASSIGN_OR_RETURN(const std::vector<int64_t> seeds, ParseSeeds(args));
  for (int64_t seed : seeds) plan->add_seeds(seed);
  return absl::OkStatus();
}

absl::Status Add(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::CreateScheduleRequest request;
  JEPALAB_RETURN_IF_ERROR(BuildCreateRequest(args, &request));
  sched::CreateScheduleResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler CreateSchedule",
                                    &sched::SchedulerService::Stub::CreateSchedule, request,
                                    &response));
  const sched::Schedule& s = response.schedule();
  io.out << "schedule " << s.name() << " created: \"" << s.cron() << "\" (UTC) -> "
         << ScheduleTargetText(s)
         << "\n  next: " << (s.paused() ? "paused" : FormatUtcMinute(s.next_fire_unix_ms()))
         << "\n";
  return absl::OkStatus();
}

absl::Status List(const ParsedArgs&, const Endpoints& e, CommandIo& io) {
  sched::ListSchedulesResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler ListSchedules",
                                    &sched::SchedulerService::Stub::ListSchedules,
                                    sched::ListSchedulesRequest(), &response));
  io.out << FormatScheduleTable({response.schedules().begin(), response.schedules().end()});
  return absl::OkStatus();
}

absl::Status Show(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::GetScheduleRequest request;
  request.set_name(args.positional[0]);
  sched::GetScheduleResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler GetSchedule",
                                    &sched::SchedulerService::Stub::GetSchedule, request,
                                    &response));
  io.out << FormatScheduleDetails(response.schedule());
  return absl::OkStatus();
}

absl::Status Pause(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::PauseScheduleRequest request;
  request.set_name(args.positional[0]);
  sched::PauseScheduleResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler PauseSchedule",
                                    &sched::SchedulerService::Stub::PauseSchedule, request,
                                    &response));
  io.out << "schedule " << response.schedule().name() << " paused\n";
  return absl::OkStatus();
}

absl::Status Resume(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::ResumeScheduleRequest request;
  request.set_name(args.positional[0]);
  sched::ResumeScheduleResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler ResumeSchedule",
                                    &sched::SchedulerService::Stub::ResumeSchedule, request,
                                    &response));
  io.out << "schedule " << response.schedule().name()
         << " resumed, next: " << FormatUtcMinute(response.schedule().next_fire_unix_ms()) << "\n";
  return absl::OkStatus();
}

absl::Status Delete(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::DeleteScheduleRequest request;
  request.set_name(args.positional[0]);
  sched::DeleteScheduleResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler DeleteSchedule",
                                    &sched::SchedulerService::Stub::DeleteSchedule, request,
                                    &response));
  io.out << "schedule " << args.positional[0] << " deleted\n";
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> ScheduleCommands() {
  return {
      {"schedule add",
       "NAME --cron \"MIN HOUR DOM MON DOW\" (--plan PLAN.yaml [--scale S] [--set key=value ...] "
       "[--seed N ...]\n"
       "| --sweep SWEEP.yaml [--stop_on_collapse]) [--paused]",
       "submit the plan or sweep periodically (cron times are UTC)",
       {{"cron", "EXPR", "when, as five cron fields in UTC, or @daily, @weekly, ..."},
        {"plan", "PLAN.yaml", "submit this plan (read now: the schedule carries its text)"},
        {"sweep", "SWEEP.yaml", "submit this sweep (read now: the schedule carries it)"},
        {"scale", "S", "with --plan: run its configs' _S siblings (repro, mini)"},
        {"mini", "", "with --plan: the same as --scale mini"},
        {"set", "key=value", "with --plan: override a config key of every run (repeatable)", true},
        {"seed", "N", "with --plan: seeds of every run (repeatable)", true},
        {"stop_on_collapse", "", "with --sweep: stop a run once its collapse is confirmed"},
        {"paused", "", "create it paused"}},
       1,
       1,
       Add},
      {"schedule list", "", "schedules and their next fire times", {}, 0, 0, List},
      {"schedule show",
       "NAME",
       "a schedule, its next fire time and what each firing submitted",
       {},
       1,
       1,
       Show},
      {"schedule pause", "NAME", "stop firing until resumed", {}, 1, 1, Pause},
      {"schedule resume",
       "NAME",
       "fire again from the next cron minute (missed windows are skipped)",
       {},
       1,
       1,
       Resume},
      {"schedule delete",
       "NAME",
       "remove a schedule and its history (what it submitted keeps running)",
       {},
       1,
       1,
       Delete},
  };
}

}  // namespace jepalab::cli
