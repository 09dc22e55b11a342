#include "cli/commands.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/compare_format.h"
#include "cli/progress_format.h"
#include "cli/rpc_helpers.h"
#include "cli/schedule_commands.h"
#include "cli/sweep_commands.h"
#include "cli/report_builder.h"
#include "cli/report_html.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"
#include "proto/metrics.grpc.pb.h"
#include "proto/scheduler.grpc.pb.h"

namespace jepalab::cli {
namespace {

namespace sched = ::jepalab::scheduler::v1;
namespace met = ::jepalab::metrics::v1;

int Health(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err) {
  const double wait_seconds = [&] {
    double v = 0;
    return absl::SimpleAtod(args.Get("wait", "0"), &v) ? v : 0.0;
  }();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(wait_seconds * 1000));
  int failures = 0;
  for (const auto& [name, address] : std::vector<std::pair<std::string, std::string>>{
           {"scheduler", e.scheduler}, {"trainer", e.trainer}, {"metrics", e.metrics}}) {
    auto stub = grpc::health::v1::Health::NewStub(Connect(address, e));
    std::string result;
    while (true) {
      grpc::ClientContext context;
      SetDeadline(context, std::min(e.timeout_seconds, 5.0));
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
      grpc::Status status = stub->Check(&context, request, &response);
      if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
        result = "SERVING";
        break;
      }
      result = status.ok() ? "NOT_SERVING" : absl::StrCat("UNREACHABLE (", status.error_message(), ")");
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (result != "SERVING") ++failures;
    (result == "SERVING" ? out : err) << absl::StrFormat("%-10s %-21s %s\n", name, address, result);
  }
  return failures == 0 ? 0 : 1;
}

void PrintExperiment(const sched::Experiment& x, std::ostream& out) {
  out << "experiment " << x.id() << "  " << ExperimentStateName(x.state()) << "\n";
  out << "  config hash " << x.config_hash().substr(0, 12);
  if (!x.overrides().empty()) out << "  overrides: " << absl::StrJoin(x.overrides(), " ");
  out << "\n";
  for (const auto& run : x.runs()) {
    out << "  " << FormatRunLine(run, /*bar_width=*/0);
    if (!run.trainer().empty()) out << "  @" << run.trainer();
    out << "\n";
  }
}

int Submit(const ParsedArgs& args, const Endpoints& e, bool tty, std::ostream& out, std::ostream& err);
int Watch(const std::string& id, const Endpoints& e, bool tty, std::ostream& out, std::ostream& err);

int Submit(const ParsedArgs& args, const Endpoints& e, bool tty, std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 1) {
    err << "usage: jepalab submit CONFIG.yaml [--set key=value ...] [--seed N ...] [--name NAME] [--tag T] [--priority N] [--stop_on_collapse] [--watch]\n";
    return 2;
  }
  sched::SubmitExperimentRequest request;
  const std::string& path = args.positional[0];
  if (!ReadFile(path, request.mutable_config_yaml())) {
    err << "jepalab: cannot read config file " << path << "\n";
    return 1;
  }
  request.set_config_path(path);
  request.set_name(args.Get("name"));
  if (args.Has("stop_on_collapse")) request.mutable_stop_on_collapse()->set_enabled(true);
  int priority = 0;
  if (!ParsePriority(args, err, &priority)) return 2;
  request.set_priority(priority);
  for (const auto& o : args.GetAll("set")) request.add_overrides(o);
  for (const auto& t : args.GetAll("tag")) request.add_tags(t);
  for (const auto& s : args.GetAll("seed")) {
    int64_t seed = 0;
    if (!absl::SimpleAtoi(s, &seed)) {
      err << "jepalab: --seed: expected an integer, got \"" << s << "\"\n";
      return 2;
    }
    request.add_seeds(seed);
  }
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  sched::SubmitExperimentResponse response;
  grpc::Status status = stub->SubmitExperiment(&context, request, &response);
  if (!status.ok()) return ReportRpcError(err, "scheduler SubmitExperiment", e.scheduler, status);
  out << "submitted " << response.experiment().id() << " (" << response.experiment().runs_size() << " run"
      << (response.experiment().runs_size() == 1 ? "" : "s") << ")\n";
  for (const auto& run : response.experiment().runs()) out << "  run " << run.run_id() << "\n";
  if (args.Has("watch")) return Watch(response.experiment().id(), e, tty, out, err);
  return 0;
}

int List(const Endpoints& e, std::ostream& out, std::ostream& err) {
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  sched::ListExperimentsRequest request;
  sched::ListExperimentsResponse response;
  grpc::Status status = stub->ListExperiments(&context, request, &response);
  if (!status.ok()) return ReportRpcError(err, "scheduler ListExperiments", e.scheduler, status);
  out << absl::StrFormat("%-32s %-10s %5s  %s\n", "EXPERIMENT", "STATE", "RUNS", "CONFIG");
  for (const auto& x : response.experiments()) {
    out << absl::StrFormat("%-32s %-10s %5d  %s\n", x.id(), ExperimentStateName(x.state()), x.runs_size(),
                           x.config_hash().substr(0, 12));
  }
  return 0;
}

int Status(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 1) {
    err << "usage: jepalab status EXPERIMENT_ID\n";
    return 2;
  }
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  sched::GetExperimentRequest request;
  request.set_id(args.positional[0]);
  sched::GetExperimentResponse response;
  grpc::Status status = stub->GetExperiment(&context, request, &response);
  if (!status.ok()) return ReportRpcError(err, "scheduler GetExperiment", e.scheduler, status);
  PrintExperiment(response.experiment(), out);
  for (const auto& run : response.experiment().runs()) {
    if (run.last_metrics().empty()) continue;
    out << "  " << run.run_id() << " latest:";
    for (const auto& [name, value] : std::map<std::string, double>(run.last_metrics().begin(), run.last_metrics().end())) {
      out << " " << name << "=" << absl::StrFormat("%.6g", value);
    }
    out << "\n";
  }
  return 0;
}

int Watch(const std::string& id, const Endpoints& e, bool tty, std::ostream& out, std::ostream& err) {
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  grpc::ClientContext context;
  sched::WatchExperimentRequest request;
  request.set_id(id);
  auto reader = stub->WatchExperiment(&context, request);
  sched::ExperimentEvent event;
  sched::Experiment last;
  int drawn_lines = 0;
  std::map<std::string, std::string> last_plain;  // run id -> last printed line key
  while (reader->Read(&event)) {
    last = event.experiment();
    if (tty) {
      if (drawn_lines > 0) out << "\x1b[" << drawn_lines << "F";  // back to the first line
      out << "\x1b[2K" << "experiment " << last.id() << "  " << ExperimentStateName(last.state()) << "\n";
      for (const auto& run : last.runs()) out << "\x1b[2K" << FormatRunLine(run, 30) << "\n";
      drawn_lines = 1 + last.runs_size();
      out.flush();
    } else {
      // Plain lines for logs: on a state change, a new epoch, or every 10% of steps.
      for (const auto& run : last.runs()) {
        const auto& p = run.progress();
        const int64_t decile = p.total_steps() > 0 ? p.step() * 10 / p.total_steps() : 0;
        const std::string key = absl::StrCat(run.state(), "/", p.epoch(), "/", decile);
        if (last_plain[run.run_id()] == key) continue;
        last_plain[run.run_id()] = key;
        out << FormatRunLine(run, /*bar_width=*/0) << "\n";
      }
      out.flush();
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(err, "scheduler WatchExperiment", e.scheduler, status);
  out << "experiment " << last.id() << " finished: " << ExperimentStateName(last.state()) << "\n";
  return last.state() == sched::EXPERIMENT_STATE_SUCCEEDED ? 0 : 1;
}

int Cancel(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 1) {
    err << "usage: jepalab cancel EXPERIMENT_ID\n";
    return 2;
  }
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  sched::CancelExperimentRequest request;
  request.set_id(args.positional[0]);
  sched::CancelExperimentResponse response;
  grpc::Status status = stub->CancelExperiment(&context, request, &response);
  if (!status.ok()) return ReportRpcError(err, "scheduler CancelExperiment", e.scheduler, status);
  out << "cancel requested: " << response.experiment().id() << " "
      << ExperimentStateName(response.experiment().state()) << "\n";
  return 0;
}

int Metrics(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 1) {
    err << "usage: jepalab metrics RUN_ID [--name NAME ...] [--max_points N] [--summary]\n";
    return 2;
  }
  auto stub = met::MetricsService::NewStub(Connect(e.metrics, e));
  met::GetRunHistoryRequest request;
  request.set_run_id(args.positional[0]);
  for (const auto& n : args.GetAll("name")) request.add_names(n);
  int max_points = 0;
  if (!absl::SimpleAtoi(args.Get("max_points", "0"), &max_points) || max_points < 0) {
    err << "jepalab: --max_points: expected a non-negative integer\n";
    return 2;
  }
  request.set_max_points(max_points);
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  met::GetRunHistoryResponse response;
  grpc::Status status = stub->GetRunHistory(&context, request, &response);
  if (!status.ok()) return ReportRpcError(err, "metrics GetRunHistory", e.metrics, status);
  if (args.Has("summary")) {
    out << absl::StrFormat("%-36s %7s %12s %12s %12s\n", "METRIC", "POINTS", "FIRST", "LAST", "MIN");
    for (const auto& series : response.series()) {
      if (series.points().empty()) continue;
      double lo = series.points(0).value();
      for (const auto& p : series.points()) lo = std::min(lo, p.value());
      out << absl::StrFormat("%-36s %7d %12.6g %12.6g %12.6g\n", series.name(), series.points_size(),
                             series.points(0).value(), series.points(series.points_size() - 1).value(), lo);
    }
    return 0;
  }
  out << "run,name,step,epoch,value\n";
  for (const auto& series : response.series()) {
    for (const auto& p : series.points()) {
      out << response.run_id() << "," << series.name() << "," << p.step() << "," << p.epoch() << ","
          << absl::StrFormat("%.9g", p.value()) << "\n";
    }
  }
  return 0;
}

int Compare(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err) {
  if (args.positional.empty()) {
    err << "usage: jepalab compare RUN_ID [RUN_ID ...] [--name NAME ...]\n";
    return 2;
  }
  auto stub = met::MetricsService::NewStub(Connect(e.metrics, e));
  met::CompareRunsRequest request;
  for (const auto& r : args.positional) request.add_run_ids(r);
  for (const auto& n : args.GetAll("name")) request.add_names(n);
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  met::CompareRunsResponse response;
  grpc::Status status = stub->CompareRuns(&context, request, &response);
  if (!status.ok()) return ReportRpcError(err, "metrics CompareRuns", e.metrics, status);
  out << FormatComparison(response);
  return 0;
}

// --- Plans -----------------------------------------------------------------------------------

std::string PlanStateName(sched::PlanState state) {
  switch (state) {
    case sched::PLAN_STATE_RUNNING: return "RUNNING";
    case sched::PLAN_STATE_SUCCEEDED: return "SUCCEEDED";
    case sched::PLAN_STATE_FAILED: return "FAILED";
    case sched::PLAN_STATE_CANCELLED: return "CANCELLED";
    default: return "UNKNOWN";
  }
}

bool IsPlanFinished(const sched::Plan& plan) {
  return plan.state() == sched::PLAN_STATE_SUCCEEDED || plan.state() == sched::PLAN_STATE_FAILED ||
         plan.state() == sched::PLAN_STATE_CANCELLED;
}

void PrintPlan(const sched::Plan& plan, std::ostream& out) {
  out << "plan " << plan.id() << "  " << PlanStateName(plan.state()) << (plan.mini() ? "  (mini)" : "")
      << "\n";
  out << "  stages: " << absl::StrJoin(plan.stages_taken(), " -> ");
  if (!plan.current_stage().empty()) out << "  (current: " << plan.current_stage() << ")";
  out << "\n";
  if (!plan.overrides().empty()) out << "  overrides (every run): " << absl::StrJoin(plan.overrides(), " ") << "\n";
  if (!plan.scenario().empty()) out << "  scenario: " << plan.scenario() << "\n";
  out << absl::StrFormat("  %-20s %-16s %-40s %-10s %s\n", "RUN", "STAGE", "EXPERIMENT", "STATE", "VERDICT");
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

absl::Status GetPlan(const std::string& id, const Endpoints& e, sched::Plan* plan, grpc::Status* rpc) {
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  sched::GetPlanRequest request;
  request.set_id(id);
  sched::GetPlanResponse response;
  *rpc = stub->GetPlan(&context, request, &response);
  if (!rpc->ok()) return common::FromGrpcStatus(*rpc);
  *plan = response.plan();
  return absl::OkStatus();
}

// Prints a progress line for each running trainer run of `experiment_id` whose epoch or quarter of
// steps changed since the last call (`printed`: run id -> that key). Errors are skipped: the next
// poll retries.
void PrintPlanRunProgress(sched::SchedulerService::Stub& stub, const std::string& experiment_id,
                          const Endpoints& e, const std::string& stamp, std::map<std::string, std::string>* printed,
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
    out << stamp << "    " << FormatRunLine(run, /*bar_width=*/0) << "\n";
  }
}

// Polls the plan until it ends, printing each new stage, each change of its runs (with the time a
// finished run took) and, while a run trains, its progress every epoch or quarter of its steps.
// Every line starts with the time since the watch began.
int WatchPlan(const std::string& id, const Endpoints& e, std::ostream& out, std::ostream& err) {
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  const auto begin = std::chrono::steady_clock::now();
  std::map<std::string, std::string> printed;  // run name -> last printed line
  std::map<std::string, std::chrono::steady_clock::time_point> running_since;  // run name -> first seen RUNNING
  std::map<std::string, std::string> took;  // run name -> how long it ran, once ended
  std::map<std::string, std::string> progress_printed;
  int stages_printed = 0;
  sched::Plan plan;
  while (true) {
    grpc::Status rpc;
    if (!GetPlan(id, e, &plan, &rpc).ok()) return ReportRpcError(err, "scheduler GetPlan", e.scheduler, rpc);
    const auto now = std::chrono::steady_clock::now();
    const std::string stamp =
        absl::StrCat("[", FormatDuration(std::chrono::duration<double>(now - begin).count()), "] ");
    for (; stages_printed < plan.stages_taken_size(); ++stages_printed) {
      out << stamp << "stage " << plan.stages_taken(stages_printed) << "\n";
    }
    for (const auto& run : plan.runs()) {
      const bool running = run.state() == sched::EXPERIMENT_STATE_RUNNING;
      if (running) running_since.emplace(run.name(), now);
      const std::string line = absl::StrCat("  ", run.name(), "  ", run.experiment_id(), "  ",
                                            ExperimentStateName(run.state()),
                                            run.judged() ? absl::StrCat("  ", run.verdict()) : "");
      // The time a run took: from first seen RUNNING to first seen ended (the verdict comes later).
      auto since = running_since.find(run.name());
      if (!running && run.state() != sched::EXPERIMENT_STATE_QUEUED && since != running_since.end()) {
        took.emplace(run.name(), FormatDuration(std::chrono::duration<double>(now - since->second).count()));
      }
      if (printed[run.name()] != line) {
        printed[run.name()] = line;
        auto duration = took.find(run.name());
        out << stamp << line << (duration != took.end() ? absl::StrCat("  (", duration->second, ")") : "") << "\n";
      }
      if (running && !run.experiment_id().empty()) {
        PrintPlanRunProgress(*stub, run.experiment_id(), e, stamp, &progress_printed, out);
      }
    }
    out.flush();
    if (IsPlanFinished(plan)) break;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  out << "plan " << plan.id() << " finished: " << PlanStateName(plan.state()) << "\n";
  if (plan.state() != sched::PLAN_STATE_SUCCEEDED) {
    if (!plan.message().empty()) out << plan.message() << "\n";
    return 1;
  }
  out << "\n";
  PrintVerdict(plan, out);
  return 0;
}

int PlanCommand(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "usage: jepalab plan run FILE [--mini] [--set key=value ...] [--seed N ...] [--priority N] [--watch] | "
      "plan watch ID | plan status ID | "
      "plan verdict ID | plan list | plan cancel ID\n";
  const std::string sub = args.positional.empty() ? "" : args.positional[0];
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  if (sub == "run" && args.positional.size() == 2) {
    sched::SubmitPlanRequest request;
    const std::string& path = args.positional[1];
    if (!ReadFile(path, request.mutable_plan_yaml())) {
      err << "jepalab: cannot read plan file " << path << "\n";
      return 1;
    }
    request.set_plan_path(path);
    request.set_mini(args.Has("mini"));
    for (const auto& o : args.GetAll("set")) request.add_overrides(o);
    int priority = 0;
    if (!ParsePriority(args, err, &priority)) return 2;
    request.set_priority(priority);
    for (const auto& text : args.GetAll("seed")) {
      int64_t seed = 0;
      if (!absl::SimpleAtoi(text, &seed)) {
        err << "jepalab: --seed: expected an integer, got \"" << text << "\"\n";
        return 2;
      }
      request.add_seeds(seed);
    }
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    sched::SubmitPlanResponse response;
    grpc::Status status = stub->SubmitPlan(&context, request, &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler SubmitPlan", e.scheduler, status);
    out << "submitted plan " << response.plan().id() << " (stage " << response.plan().current_stage()
        << ": " << response.plan().runs_size() << " experiment"
        << (response.plan().runs_size() == 1 ? "" : "s") << ")\n";
    if (args.Has("watch")) return WatchPlan(response.plan().id(), e, out, err);
    return 0;
  }
  if (sub == "watch" && args.positional.size() == 2) return WatchPlan(args.positional[1], e, out, err);
  if ((sub == "status" || sub == "verdict") && args.positional.size() == 2) {
    sched::Plan plan;
    grpc::Status rpc;
    if (!GetPlan(args.positional[1], e, &plan, &rpc).ok()) {
      return ReportRpcError(err, "scheduler GetPlan", e.scheduler, rpc);
    }
    if (sub == "status") {
      PrintPlan(plan, out);
      return 0;
    }
    if (plan.state() != sched::PLAN_STATE_SUCCEEDED) {
      err << "jepalab: plan " << plan.id() << " has no verdict yet (" << PlanStateName(plan.state())
          << (plan.current_stage().empty() ? "" : absl::StrCat(", stage ", plan.current_stage())) << ")\n";
      return 1;
    }
    PrintVerdict(plan, out);
    return 0;
  }
  if (sub == "list" && args.positional.size() == 1) {
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    sched::ListPlansResponse response;
    grpc::Status status = stub->ListPlans(&context, sched::ListPlansRequest(), &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler ListPlans", e.scheduler, status);
    out << absl::StrFormat("%-32s %-10s %-8s %-20s %s\n", "PLAN", "STATE", "SCENARIO", "STAGE", "STAGES TAKEN");
    for (const auto& plan : response.plans()) {
      out << absl::StrFormat("%-32s %-10s %-8s %-20s %s\n", plan.id(), PlanStateName(plan.state()),
                             plan.scenario().empty() ? "-" : plan.scenario(),
                             plan.current_stage().empty() ? "-" : plan.current_stage(),
                             absl::StrJoin(plan.stages_taken(), " -> "));
    }
    return 0;
  }
  if (sub == "cancel" && args.positional.size() == 2) {
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    sched::CancelPlanRequest request;
    request.set_id(args.positional[1]);
    sched::CancelPlanResponse response;
    grpc::Status status = stub->CancelPlan(&context, request, &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler CancelPlan", e.scheduler, status);
    out << "cancelled plan " << response.plan().id() << "\n";
    return 0;
  }
  err << usage;
  return 2;
}

// --- Report ----------------------------------------------------------------------------------

// Writes `text` to `path` through a temporary file in the same directory and a rename, so a
// reader never sees half a report.
absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temp = absl::StrCat(path, ".tmp-", getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::UnavailableError(absl::StrCat(temp, ": cannot open for writing"));
    out << text;
    out.close();
    if (!out) {
      std::remove(temp.c_str());
      return absl::UnavailableError(absl::StrCat(temp, ": write failed"));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temp.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": rename failed: ", reason));
  }
  return absl::OkStatus();
}

// The charted data of one trainer run. A run that never reported (NotFound) charts as empty.
int FetchRunData(met::MetricsService::Stub& stub, const Endpoints& e, const std::string& name,
                 const std::string& run_id, int max_points, std::vector<ReportRunData>* runs, std::ostream& err) {
  ReportRunData data;
  data.name = name;
  {
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    met::GetRunHistoryRequest request;
    request.set_run_id(run_id);
    for (const std::string& metric : ReportMetricNames()) request.add_names(metric);
    request.set_max_points(max_points);
    grpc::Status status = stub.GetRunHistory(&context, request, &data.history);
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
      return ReportRpcError(err, absl::StrCat("metrics GetRunHistory ", run_id), e.metrics, status);
    }
  }
  {
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    met::GetCollapseStatusRequest request;
    request.set_run_id(run_id);
    grpc::Status status = stub.GetCollapseStatus(&context, request, &data.collapse);
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
      return ReportRpcError(err, absl::StrCat("metrics GetCollapseStatus ", run_id), e.metrics, status);
    }
  }
  runs->push_back(std::move(data));
  return 0;
}

// `report ID`: ID is a plan (charts and verdict), else an experiment or a sweep (charts only).
int Report(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 1) {
    err << "usage: jepalab report PLAN_ID|EXPERIMENT_ID|SWEEP_ID [-o FILE.html] [--max_points N]\n";
    return 2;
  }
  const std::string& id = args.positional[0];
  const std::string path = args.Get("output", absl::StrCat(id, ".html"));
  int max_points = 0;
  if (!absl::SimpleAtoi(args.Get("max_points", "500"), &max_points) || max_points < 0) {
    err << "jepalab: --max_points: expected a non-negative integer\n";
    return 2;
  }
  std::string title;
  std::string subtitle;
  sched::Plan plan;
  bool is_plan = false;
  std::vector<std::pair<std::string, std::string>> run_names;  // legend name, run id
  {
    grpc::Status rpc;
    if (GetPlan(id, e, &plan, &rpc).ok()) {
      is_plan = true;
      title = absl::StrCat("jepa-lab plan ", plan.id());
      subtitle = absl::StrCat(plan.name(), plan.mini() ? " (mini)" : "", " \xC2\xB7 ", PlanStateName(plan.state()),
                              " \xC2\xB7 stages: ", absl::StrJoin(plan.stages_taken(), " \xE2\x86\x92 "),
                              plan.scenario().empty() ? "" : absl::StrCat(" \xC2\xB7 scenario ", plan.scenario()),
                              plan.message().empty() ? "" : absl::StrCat(" \xC2\xB7 ", plan.message()));
      run_names = PlanRunNames(plan);
    } else if (rpc.error_code() != grpc::StatusCode::NOT_FOUND) {
      return ReportRpcError(err, "scheduler GetPlan", e.scheduler, rpc);
    }
  }
  if (!is_plan) {
    auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
    std::vector<sched::Experiment> experiments;
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    sched::GetExperimentRequest request;
    request.set_id(id);
    sched::GetExperimentResponse response;
    grpc::Status status = stub->GetExperiment(&context, request, &response);
    if (status.ok()) {
      experiments.push_back(response.experiment());
      title = absl::StrCat("jepa-lab experiment ", id);
      subtitle = ExperimentStateName(response.experiment().state());
    } else if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
      return ReportRpcError(err, "scheduler GetExperiment", e.scheduler, status);
    } else {
      grpc::ClientContext list_context;
      SetDeadline(list_context, e.timeout_seconds);
      sched::ListExperimentsRequest list;
      list.set_sweep_id(id);
      sched::ListExperimentsResponse listed;
      status = stub->ListExperiments(&list_context, list, &listed);
      if (!status.ok()) return ReportRpcError(err, "scheduler ListExperiments", e.scheduler, status);
      experiments.assign(listed.experiments().begin(), listed.experiments().end());
      title = absl::StrCat("jepa-lab sweep ", id);
      subtitle = absl::StrCat(experiments.size(), " experiments");
    }
    if (experiments.empty()) {
      err << "jepalab: report: no plan, experiment or sweep with id \"" << id << "\"\n";
      return 1;
    }
    for (const sched::Experiment& x : experiments) {
      for (const sched::RunRecord& run : x.runs()) run_names.emplace_back(run.run_id(), run.run_id());
    }
  }
  auto metrics = met::MetricsService::NewStub(Connect(e.metrics, e));
  std::vector<ReportRunData> runs;
  for (const auto& [name, run_id] : run_names) {
    if (int code = FetchRunData(*metrics, e, name, run_id, max_points, &runs, err); code != 0) return code;
  }
  const std::string html = RenderReportHtml(BuildReportInput(title, subtitle, is_plan ? &plan : nullptr, runs));
  if (absl::Status written = WriteFileAtomically(path, html); !written.ok()) {
    err << "jepalab: report: " << written.message() << "\n";
    return 1;
  }
  out << path << "\n";
  return 0;
}

}  // namespace

const std::set<std::string>& ValueFlags() {
  static const auto* flags = new std::set<std::string>{"scheduler", "trainer", "metrics", "timeout", "set", "seed",
                                                       "name", "tag", "max_points", "wait",
                                                       "tls_ca_file", "auth_token_file", "output",
                                                       "cron", "plan", "sweep", "priority"};
  return *flags;
}

const std::map<std::string, std::string>& ShortFlags() {
  static const auto* flags = new std::map<std::string, std::string>{{"o", "output"}};
  return *flags;
}

const std::set<std::string>& SwitchFlags() {
  static const auto* flags = new std::set<std::string>{"watch", "summary", "help", "mini", "stop_on_collapse",
                                                       "paused"};
  return *flags;
}

std::string Usage() {
  return R"(jepalab: client for jepa-lab's scheduler, trainer and metrics services

usage: jepalab COMMAND [ARGS] [--scheduler=HOST:PORT] [--trainer=HOST:PORT] [--metrics=HOST:PORT] [--timeout=SECONDS]
               [--tls_ca_file=CA.pem] [--auth_token_file=TOKEN_FILE]

commands:
  health [--wait=SECONDS]          health of the three services (waits up to SECONDS for SERVING)
  submit CONFIG.yaml [--set key=value ...] [--seed N ...] [--name NAME] [--tag T ...] [--priority N] [--watch]
         [--stop_on_collapse]
                                   queue an experiment (one run per seed) through the scheduler;
                                   --stop_on_collapse stops a run once its collapse is confirmed
  list                             experiments and their states
  status EXPERIMENT_ID             an experiment's runs, progress and latest metrics
  watch EXPERIMENT_ID              live progress until it finishes (exit 0 iff it succeeded)
  cancel EXPERIMENT_ID             cancel queued and running runs
  metrics RUN_ID [--name NAME ...] [--max_points N] [--summary]
                                   a run's metric history as CSV (or a summary table)
  compare RUN_ID [RUN_ID ...] [--name NAME ...]
                                   final/best/worst of each metric, side by side, then a config
                                   diff: only the resolved config keys that differ between runs
  sweep submit SWEEP.yaml [--priority N] [--watch]
                                   submit a sweep file (configs/sweeps/): base config, variants
                                   or a grid, seeds; --watch follows its experiments
  plan run PLAN.yaml [--mini] [--set key=value ...] [--seed N ...] [--priority N] [--watch]
                                   run a diagnostic plan (configs/plans/); the scheduler reads
                                   the run configs it names relative to its --config_root;
                                   --set applies to every run (e.g. a data source or device)
                                   (--priority: higher runs first; within a priority, plans,
                                   sweeps and experiments take turns)
  plan watch PLAN_ID               follow a plan to its end (stages, runs, progress), then its verdict
  plan status PLAN_ID              stages taken, each run's experiment, state and verdict
  plan verdict PLAN_ID             the written conclusion and the table of every run
  plan list                        plans and their states
  plan cancel PLAN_ID              cancel a plan's running experiments
  schedule add NAME --cron "M H DOM MON DOW" (--plan PLAN.yaml [--mini] [--set k=v ...] [--seed N ...] |
         --sweep SWEEP.yaml [--stop_on_collapse]) [--paused]
                                   submit the plan or sweep periodically (cron times are UTC)
  schedule list | show NAME        schedules, next fire times and what each firing submitted
  schedule pause|resume|delete NAME
  report ID [-o FILE.html] [--max_points N]
                                   self-contained HTML report (charts per run, collapse markers,
                                   and for a plan its verdict) of a plan, experiment or sweep;
                                   default FILE: ID.html; prints the file's path
defaults: scheduler 127.0.0.1:50051, trainer 127.0.0.1:50052, metrics 127.0.0.1:50053
security: --tls_ca_file speaks TLS to every service, verifying it against CA.pem;
          --auth_token_file (default: $JEPALAB_TOKEN_FILE) sends the bearer token that
          services started with --auth_token_file require for submit, cancel, sweep submit,
          plan run|cancel and schedule add|pause|resume|delete
)";
}

int RunCommand(const ParsedArgs& args, const Endpoints& e, bool tty, std::ostream& out, std::ostream& err) {
  const std::string& c = args.command;
  if (c == "health") return Health(args, e, out, err);
  if (c == "submit") return Submit(args, e, tty, out, err);
  if (c == "list") return List(e, out, err);
  if (c == "status") return Status(args, e, out, err);
  if (c == "watch") {
    if (args.positional.size() != 1) {
      err << "usage: jepalab watch EXPERIMENT_ID\n";
      return 2;
    }
    return Watch(args.positional[0], e, tty, out, err);
  }
  if (c == "cancel") return Cancel(args, e, out, err);
  if (c == "metrics") return Metrics(args, e, out, err);
  if (c == "compare") return Compare(args, e, out, err);
  if (c == "plan") return PlanCommand(args, e, out, err);
  if (c == "sweep") return SweepCommand(args, e, out, err);
  if (c == "schedule") return ScheduleCommand(args, e, out, err);
  if (c == "report") return Report(args, e, out, err);
  if (c.empty() || c == "help" || args.Has("help")) {
    out << Usage();
    return c.empty() ? 2 : 0;
  }
  err << "jepalab: unknown command \"" << c << "\"\n" << Usage();
  return 2;
}

}  // namespace jepalab::cli
