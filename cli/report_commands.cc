#include "cli/report_commands.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/plan_commands.h"
#include "cli/plan_files.h"
#include "cli/progress_format.h"
#include "cli/report_builder.h"
#include "cli/report_html.h"
#include "cli/rpc_helpers.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "config/plan_submission.h"
#include "proto/metrics.grpc.pb.h"
#include "proto/scheduler.grpc.pb.h"

namespace jepalab::cli {
namespace {

namespace sched = ::jepalab::scheduler::v1;
namespace met = ::jepalab::metrics::v1;

// The charted data of one trainer run. A run that never reported (NotFound) charts as empty.
absl::StatusOr<ReportRunData> FetchRunData(met::MetricsService::Stub& stub, const Endpoints& e,
                                           const std::string& name, const std::string& run_id,
                                           int max_points) {
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
      return RpcError(absl::StrCat("metrics GetRunHistory ", run_id), e.metrics, status);
    }
  }
  {
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    met::GetCollapseStatusRequest request;
    request.set_run_id(run_id);
    grpc::Status status = stub.GetCollapseStatus(&context, request, &data.collapse);
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
      return RpcError(absl::StrCat("metrics GetCollapseStatus ", run_id), e.metrics, status);
    }
  }
  return data;
}

// What the page is about when the id is no plan: an experiment, else a sweep's experiments.
struct ReportSubject {
  std::string title;
  std::string subtitle;
  std::vector<std::pair<std::string, std::string>> run_names;  // legend name, run id
};

absl::StatusOr<ReportSubject> ExperimentsSubject(const std::string& id, const Endpoints& e) {
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  ReportSubject subject;
  std::vector<sched::Experiment> experiments;
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  sched::GetExperimentRequest request;
  request.set_id(id);
  sched::GetExperimentResponse response;
  grpc::Status status = stub->GetExperiment(&context, request, &response);
  if (status.ok()) {
    experiments.push_back(response.experiment());
    subject.title = absl::StrCat("jepa-lab experiment ", id);
    subject.subtitle = ExperimentStateName(response.experiment().state());
  } else if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
    return RpcError("scheduler GetExperiment", e.scheduler, status);
  } else {
    grpc::ClientContext list_context;
    SetDeadline(list_context, e.timeout_seconds);
    sched::ListExperimentsRequest list;
    list.set_sweep_id(id);
    sched::ListExperimentsResponse listed;
    status = stub->ListExperiments(&list_context, list, &listed);
    if (!status.ok()) return RpcError("scheduler ListExperiments", e.scheduler, status);
    experiments.assign(listed.experiments().begin(), listed.experiments().end());
    subject.title = absl::StrCat("jepa-lab sweep ", id);
    subject.subtitle = absl::StrCat(experiments.size(), " experiments");
  }
  if (experiments.empty()) {
    return absl::NotFoundError(
        absl::StrCat("report: no plan, experiment or sweep with id \"", id, "\""));
  }
  for (const sched::Experiment& x : experiments) {
    for (const sched::RunRecord& run : x.runs())
      subject.run_names.emplace_back(run.run_id(), run.run_id());
  }
  return subject;
}

// `report ID`: ID is a plan (charts and verdict), else an experiment or a sweep (charts only).
absl::Status Report(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  const std::string& id = args.positional[0];
  const std::string path = args.Get("output", absl::StrCat(id, ".html"));
  JEPALAB_ASSIGN_OR_RETURN(const int max_points, ParseMaxPoints(args, 500));
  ReportSubject subject;
  absl::StatusOr<sched::Plan> plan = GetPlan(id, e);
  if (plan.ok()) {
    subject.title = absl::StrCat("jepa-lab plan ", plan->id());
    subject.subtitle = absl::StrCat(
        plan->name(), ScaleSuffix(config::RecordScale(*plan)), " \xC2\xB7 ",
        PlanStateName(plan->state()),
        " \xC2\xB7 stages: ", absl::StrJoin(plan->stages_taken(), " \xE2\x86\x92 "),
        plan->scenario().empty() ? "" : absl::StrCat(" \xC2\xB7 scenario ", plan->scenario()),
        plan->message().empty() ? "" : absl::StrCat(" \xC2\xB7 ", plan->message()));
    subject.run_names = PlanRunNames(*plan);
  } else if (!absl::IsNotFound(plan.status())) {
    return plan.status();
  } else {
    JEPALAB_ASSIGN_OR_RETURN(subject, ExperimentsSubject(id, e));
  }
  auto metrics = met::MetricsService::NewStub(Connect(e.metrics, e));
  std::vector<ReportRunData> runs;
  for (const auto& [name, run_id] : subject.run_names) {
    JEPALAB_ASSIGN_OR_RETURN(ReportRunData data,
                             FetchRunData(*metrics, e, name, run_id, max_points));
    runs.push_back(std::move(data));
  }
  const std::string html = RenderReportHtml(
      BuildReportInput(subject.title, subject.subtitle, plan.ok() ? &*plan : nullptr, runs));
  if (absl::Status written = common::WriteFileAtomically(path, html); !written.ok()) {
    return absl::Status(written.code(), absl::StrCat("report: ", written.message()));
  }
  io.out << path << "\n";
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> ReportCommands() {
  return {
      {"report",
       "PLAN_ID|EXPERIMENT_ID|SWEEP_ID",
       "self-contained HTML report (charts per run, collapse markers,\n"
       "and for a plan its verdict) of a plan, experiment or sweep;\n"
       "prints the file's path",
       {{"output", "FILE.html", "where to write it (default: ID.html)", false, "o"},
        {"max_points", "N", "downsample each chart's series to at most N points (default 500)"}},
       1,
       1,
       Report},
  };
}

}  // namespace jepalab::cli
