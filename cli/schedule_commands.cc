#include "cli/schedule_commands.h"

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/rpc_helpers.h"
#include "cli/schedule_format.h"
#include "proto/scheduler.grpc.pb.h"
#include "config/sweep_file.h"

namespace jepalab::cli {

using ::jepalab::config::LoadSweepFile;
namespace {

namespace sched = ::jepalab::scheduler::v1;

constexpr char kScheduleUsage[] =
    "usage: jepalab schedule add NAME --cron \"MIN HOUR DOM MON DOW\" (--plan FILE [--mini] [--seed N ...] | "
    "--sweep FILE [--stop_on_collapse]) [--paused]\n"
    "       jepalab schedule list | show NAME | pause NAME | resume NAME | delete NAME\n"
    "       (cron times are UTC)\n";

// Builds the CreateSchedule request from the flags; on a usage error prints it and returns 2.
int BuildCreateRequest(const ParsedArgs& args, sched::CreateScheduleRequest* request, std::ostream& err) {
  request->set_name(args.positional[1]);
  request->set_cron(args.Get("cron"));
  request->set_paused(args.Has("paused"));
  if (request->cron().empty()) {
    err << "jepalab: schedule add: --cron is required, e.g. --cron \"0 2 * * *\" (02:00 UTC daily)\n";
    return 2;
  }
  const std::string plan_path = args.Get("plan");
  const std::string sweep_path = args.Get("sweep");
  if (plan_path.empty() == sweep_path.empty()) {
    err << "jepalab: schedule add: give exactly one of --plan FILE and --sweep FILE\n";
    return 2;
  }
  if (!sweep_path.empty()) {
    if (args.Has("mini") || !args.GetAll("seed").empty() || !args.GetAll("set").empty()) {
      err << "jepalab: schedule add: --mini, --set and --seed apply to --plan; a sweep file names its config, "
             "overrides and seeds\n";
      return 2;
    }
    // Read here, so the schedule carries the sweep (and its base config) as it is now.
    absl::StatusOr<sched::SubmitSweepRequest> sweep = LoadSweepFile(sweep_path, "");
    if (!sweep.ok()) {
      err << "jepalab: --sweep: " << sweep.status().message() << "\n";
      return 1;
    }
    if (args.Has("stop_on_collapse")) sweep->mutable_stop_on_collapse()->set_enabled(true);
    *request->mutable_sweep() = *std::move(sweep);
    return 0;
  }
  if (args.Has("stop_on_collapse")) {
    err << "jepalab: schedule add: --stop_on_collapse applies to --sweep; a plan sets stop_on_collapse in its file\n";
    return 2;
  }
  sched::SchedulePlanTarget* plan = request->mutable_plan();
  if (!ReadFile(plan_path, plan->mutable_plan_yaml())) {
    err << "jepalab: --plan: cannot read plan file " << plan_path << "\n";
    return 1;
  }
  plan->set_plan_path(plan_path);
  plan->set_mini(args.Has("mini"));
  for (const auto& o : args.GetAll("set")) plan->add_overrides(o);
  for (const std::string& text : args.GetAll("seed")) {
    int64_t seed = 0;
    if (!absl::SimpleAtoi(text, &seed)) {
      err << "jepalab: --seed: expected an integer, got \"" << text << "\"\n";
      return 2;
    }
    plan->add_seeds(seed);
  }
  return 0;
}

}  // namespace

int ScheduleCommand(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err) {
  const std::string sub = args.positional.empty() ? "" : args.positional[0];
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  if (sub == "add" && args.positional.size() == 2) {
    sched::CreateScheduleRequest request;
    if (int code = BuildCreateRequest(args, &request, err); code != 0) return code;
    sched::CreateScheduleResponse response;
    grpc::Status status = stub->CreateSchedule(&context, request, &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler CreateSchedule", e.scheduler, status);
    const sched::Schedule& s = response.schedule();
    out << "schedule " << s.name() << " created: \"" << s.cron() << "\" (UTC) -> " << ScheduleTargetText(s)
        << "\n  next: " << (s.paused() ? "paused" : FormatUtcMinute(s.next_fire_unix_ms())) << "\n";
    return 0;
  }
  if (sub == "list" && args.positional.size() == 1) {
    sched::ListSchedulesResponse response;
    grpc::Status status = stub->ListSchedules(&context, sched::ListSchedulesRequest(), &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler ListSchedules", e.scheduler, status);
    out << FormatScheduleTable({response.schedules().begin(), response.schedules().end()});
    return 0;
  }
  if (sub == "show" && args.positional.size() == 2) {
    sched::GetScheduleRequest request;
    request.set_name(args.positional[1]);
    sched::GetScheduleResponse response;
    grpc::Status status = stub->GetSchedule(&context, request, &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler GetSchedule", e.scheduler, status);
    out << FormatScheduleDetails(response.schedule());
    return 0;
  }
  if (sub == "pause" && args.positional.size() == 2) {
    sched::PauseScheduleRequest request;
    request.set_name(args.positional[1]);
    sched::PauseScheduleResponse response;
    grpc::Status status = stub->PauseSchedule(&context, request, &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler PauseSchedule", e.scheduler, status);
    out << "schedule " << response.schedule().name() << " paused\n";
    return 0;
  }
  if (sub == "resume" && args.positional.size() == 2) {
    sched::ResumeScheduleRequest request;
    request.set_name(args.positional[1]);
    sched::ResumeScheduleResponse response;
    grpc::Status status = stub->ResumeSchedule(&context, request, &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler ResumeSchedule", e.scheduler, status);
    out << "schedule " << response.schedule().name() << " resumed, next: "
        << FormatUtcMinute(response.schedule().next_fire_unix_ms()) << "\n";
    return 0;
  }
  if (sub == "delete" && args.positional.size() == 2) {
    sched::DeleteScheduleRequest request;
    request.set_name(args.positional[1]);
    sched::DeleteScheduleResponse response;
    grpc::Status status = stub->DeleteSchedule(&context, request, &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler DeleteSchedule", e.scheduler, status);
    out << "schedule " << args.positional[1] << " deleted\n";
    return 0;
  }
  err << kScheduleUsage;
  return 2;
}

}  // namespace jepalab::cli
