#include "cli/run_commands.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/compare_format.h"
#include "cli/latest_metrics.h"
#include "cli/progress_format.h"
#include "cli/rpc_helpers.h"
#include "common/metric_names.h"
#include "common/status_macros.h"
#include "proto/common.pb.h"
#include "proto/metrics.grpc.pb.h"
#include "proto/scheduler.grpc.pb.h"

namespace jepalab::cli {
namespace {

namespace sched = ::jepalab::scheduler::v1;
namespace met = ::jepalab::metrics::v1;

// The run's latest loss/total in `latest` (from FetchLatestMetrics), if metrics_service had one.
// Whether the run may have reported metrics: one never dispatched has none to ask for.
bool MayHaveMetrics(const sched::RunRecord& run) {
  return run.attempts() > 0 || (run.state() != common::v1::RUN_STATE_QUEUED &&
                                run.state() != common::v1::RUN_STATE_UNSPECIFIED);
}

std::vector<std::string> ReportingRunIds(const sched::Experiment& x) {
  std::vector<std::string> ids;
  for (const auto& run : x.runs()) {
    if (MayHaveMetrics(run)) ids.push_back(run.run_id());
  }
  return ids;
}

void PrintExperiment(const sched::Experiment& x, const std::map<std::string, RunMetrics>& latest,
                     std::ostream& out) {
  out << "experiment " << x.id() << "  " << ExperimentStateName(x.state()) << "\n";
  out << "  config hash " << x.config_hash().substr(0, 12);
  if (!x.overrides().empty()) out << "  overrides: " << absl::StrJoin(x.overrides(), " ");
  out << "\n";
  for (const auto& run : x.runs()) {
    out << "  " << FormatRunLine(run, /*bar_width=*/0, LatestLoss(latest, run.run_id()));
    if (!run.trainer().empty()) out << "  @" << run.trainer();
    out << "\n";
  }
}

// Follows the experiment's event stream: redrawn in place on a terminal, plain lines otherwise.
// OK iff it ended SUCCEEDED.
absl::Status WatchExperiment(const std::string& id, const Endpoints& e, CommandIo& io) {
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  grpc::ClientContext context;
  sched::WatchExperimentRequest request;
  request.set_id(id);
  auto reader = stub->WatchExperiment(&context, request);
  sched::ExperimentEvent event;
  sched::Experiment last;
  int drawn_lines = 0;
  std::map<std::string, std::string> last_plain;  // run id -> last printed line key
  LossFetcher losses(e, io.err);
  std::ostream& out = io.out;
  while (reader->Read(&event)) {
    last = event.experiment();
    if (io.stdout_is_tty) {
      const std::map<std::string, RunMetrics> latest = losses.Fetch(ReportingRunIds(last));
      if (drawn_lines > 0) out << "\x1b[" << drawn_lines << "F";  // back to the first line
      out << "\x1b[2K"
          << "experiment " << last.id() << "  " << ExperimentStateName(last.state()) << "\n";
      for (const auto& run : last.runs()) {
        out << "\x1b[2K" << FormatRunLine(run, 30, LatestLoss(latest, run.run_id())) << "\n";
      }
      drawn_lines = 1 + last.runs_size();
      out.flush();
    } else {
      // Plain lines for logs: on a state change, a new epoch, or every 10% of steps.
      std::vector<const sched::RunRecord*> changed;
      std::vector<std::string> reporting;  // of those, the runs that may have a loss
      for (const auto& run : last.runs()) {
        const auto& p = run.progress();
        const int64_t decile = p.total_steps() > 0 ? p.step() * 10 / p.total_steps() : 0;
        const std::string key = absl::StrCat(run.state(), "/", p.epoch(), "/", decile);
        if (last_plain[run.run_id()] == key) continue;
        last_plain[run.run_id()] = key;
        changed.push_back(&run);
        if (MayHaveMetrics(run)) reporting.push_back(run.run_id());
      }
      const std::map<std::string, RunMetrics> latest = losses.Fetch(reporting);
      for (const sched::RunRecord* run : changed) {
        out << FormatRunLine(*run, /*bar_width=*/0, LatestLoss(latest, run->run_id())) << "\n";
      }
      out.flush();
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return RpcError("scheduler WatchExperiment", e.scheduler, status);
  out << "experiment " << last.id() << " finished: " << ExperimentStateName(last.state()) << "\n";
  return last.state() == sched::EXPERIMENT_STATE_SUCCEEDED ? absl::OkStatus() : Unsuccessful();
}

absl::Status Submit(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::SubmitExperimentRequest request;
  const std::string& path = args.positional[0];
  JEPALAB_RETURN_IF_ERROR(ReadInputFile("config file", path, request.mutable_config_yaml()));
  request.set_config_path(path);
  request.set_name(args.Get("name"));
  if (args.Has("stop_on_collapse")) request.mutable_stop_on_collapse()->set_enabled(true);
  JEPALAB_ASSIGN_OR_RETURN(const int priority, ParsePriority(args));
  request.set_priority(priority);
  for (const auto& o : args.GetAll("set")) request.add_overrides(o);
  for (const auto& t : args.GetAll("tag")) request.add_tags(t);
  JEPALAB_ASSIGN_OR_RETURN(const std::vector<int64_t> seeds, ParseSeeds(args));
  for (int64_t seed : seeds) request.add_seeds(seed);
  sched::SubmitExperimentResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler SubmitExperiment",
                                    &sched::SchedulerService::Stub::SubmitExperiment, request,
                                    &response));
  const sched::Experiment& x = response.experiment();
  io.out << "submitted " << x.id() << " (" << x.runs_size() << " run"
         << (x.runs_size() == 1 ? "" : "s") << ")\n";
  for (const auto& run : x.runs()) io.out << "  run " << run.run_id() << "\n";
  if (args.Has("watch")) return WatchExperiment(x.id(), e, io);
  return absl::OkStatus();
}

absl::Status List(const ParsedArgs&, const Endpoints& e, CommandIo& io) {
  sched::ListExperimentsResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler ListExperiments",
                                    &sched::SchedulerService::Stub::ListExperiments,
                                    sched::ListExperimentsRequest(), &response));
  io.out << absl::StrFormat("%-32s %-10s %5s  %s\n", "EXPERIMENT", "STATE", "RUNS", "CONFIG");
  for (const auto& x : response.experiments()) {
    io.out << absl::StrFormat("%-32s %-10s %5d  %s\n", x.id(), ExperimentStateName(x.state()),
                              x.runs_size(), x.config_hash().substr(0, 12));
  }
  return absl::OkStatus();
}

absl::Status Status(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::GetExperimentRequest request;
  request.set_id(args.positional[0]);
  sched::GetExperimentResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler GetExperiment",
                                    &sched::SchedulerService::Stub::GetExperiment, request,
                                    &response));
  const sched::Experiment& x = response.experiment();
  // Latest metrics come from metrics_service, their owner. Without it (down, or no run reported
  // yet) the scheduler's part is still the answer: a note on stderr, exit 0.
  absl::StatusOr<std::map<std::string, RunMetrics>> latest =
      FetchLatestMetrics(ReportingRunIds(x), /*names=*/{}, e);
  if (!latest.ok()) io.err << LatestMetricsNote(latest.status(), e) << "\n";
  const std::map<std::string, RunMetrics> metrics =
      latest.ok() ? *std::move(latest) : std::map<std::string, RunMetrics>();
  PrintExperiment(x, metrics, io.out);
  for (const auto& run : x.runs()) {
    auto values = metrics.find(run.run_id());
    if (values == metrics.end() || values->second.empty()) continue;
    io.out << "  " << run.run_id() << " latest:";
    for (const auto& [name, value] : values->second) {
      io.out << " " << name << "=" << absl::StrFormat("%.6g", value);
    }
    io.out << "\n";
  }
  return absl::OkStatus();
}

absl::Status Watch(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  return WatchExperiment(args.positional[0], e, io);
}

absl::Status Cancel(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  sched::CancelExperimentRequest request;
  request.set_id(args.positional[0]);
  sched::CancelExperimentResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler CancelExperiment",
                                    &sched::SchedulerService::Stub::CancelExperiment, request,
                                    &response));
  io.out << "cancel requested: " << response.experiment().id() << " "
         << ExperimentStateName(response.experiment().state()) << "\n";
  return absl::OkStatus();
}

absl::Status Metrics(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  met::GetRunHistoryRequest request;
  request.set_run_id(args.positional[0]);
  for (const auto& n : args.GetAll("name")) request.add_names(n);
  JEPALAB_ASSIGN_OR_RETURN(const int max_points, ParseMaxPoints(args, 0));
  request.set_max_points(max_points);
  met::GetRunHistoryResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.metrics, e, "metrics GetRunHistory",
                                    &met::MetricsService::Stub::GetRunHistory, request, &response));
  std::ostream& out = io.out;
  if (args.Has("summary")) {
    out << absl::StrFormat("%-36s %7s %12s %12s %12s\n", "METRIC", "POINTS", "FIRST", "LAST",
                           "MIN");
    for (const auto& series : response.series()) {
      if (series.points().empty()) continue;
      double lo = series.points(0).value();
      for (const auto& p : series.points()) lo = std::min(lo, p.value());
      out << absl::StrFormat("%-36s %7d %12.6g %12.6g %12.6g\n", series.name(),
                             series.points_size(), series.points(0).value(),
                             series.points(series.points_size() - 1).value(), lo);
    }
    return absl::OkStatus();
  }
  out << "run,name,step,epoch,value\n";
  for (const auto& series : response.series()) {
    for (const auto& p : series.points()) {
      out << response.run_id() << "," << series.name() << "," << p.step() << "," << p.epoch() << ","
          << absl::StrFormat("%.9g", p.value()) << "\n";
    }
  }
  return absl::OkStatus();
}

absl::Status Compare(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  met::CompareRunsRequest request;
  for (const auto& r : args.positional) request.add_run_ids(r);
  for (const auto& n : args.GetAll("name")) request.add_names(n);
  met::CompareRunsResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.metrics, e, "metrics CompareRuns",
                                    &met::MetricsService::Stub::CompareRuns, request, &response));
  io.out << FormatComparison(response);
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> RunCommands() {
  const FlagSpec name_filter{"name", "NAME", "only this metric (repeatable; default: all)", true};
  // One command per block reads better than one field per line.
  // clang-format off
  return {
      {"submit", "CONFIG.yaml",
       "queue an experiment (one run per seed) through the scheduler",
       {{"set", "key=value", "override a config key (repeatable)", true},
        {"seed", "N", "one run per seed (repeatable; default: the config's)", true},
        {"name", "NAME", "the experiment's name"},
        {"tag", "T", "a tag (repeatable)", true},
        {"priority", "N", "higher runs first (default 0)"},
        {"stop_on_collapse", "", "stop a run once its collapse is confirmed"},
        {"watch", "", "follow it to its end (exit 0 iff it succeeded)"}},
       1, 1, Submit},
      {"list", "", "experiments and their states", {}, 0, 0, List},
      {"status", "EXPERIMENT_ID", "an experiment's runs, progress and latest metrics (metrics_service)", {}, 1, 1, Status},
      {"watch", "EXPERIMENT_ID", "live progress until it finishes (exit 0 iff it succeeded)", {}, 1, 1, Watch},
      {"cancel", "EXPERIMENT_ID", "cancel queued and running runs", {}, 1, 1, Cancel},
      {"metrics", "RUN_ID", "a run's metric history as CSV (or a summary table)",
       {name_filter,
        {"max_points", "N", "downsample each series to at most N points (0: all)"},
        {"summary", "", "one line per metric: points, first, last, min"}},
       1, 1, Metrics},
      {"compare", "RUN_ID [RUN_ID ...]",
       "final/best/worst of each metric, side by side, then a config\n"
       "diff: only the resolved config keys that differ between runs",
       {name_filter}, 1, -1, Compare},
  };
  // clang-format on
}

}  // namespace jepalab::cli
