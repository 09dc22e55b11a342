#include "cli/sweep_commands.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/progress_format.h"
#include "cli/rpc_helpers.h"
#include "proto/scheduler.grpc.pb.h"
#include "config/sweep_file.h"

namespace jepalab::cli {

using ::jepalab::config::LoadSweepFile;
namespace {

namespace sched = ::jepalab::scheduler::v1;

bool IsFinished(sched::ExperimentState state) {
  return state == sched::EXPERIMENT_STATE_SUCCEEDED || state == sched::EXPERIMENT_STATE_FAILED ||
         state == sched::EXPERIMENT_STATE_CANCELLED;
}

// Polls the sweep's experiments, printing each state change, until all finished.
int WatchSweep(const std::string& sweep_id, const Endpoints& e, std::ostream& out, std::ostream& err) {
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  std::map<std::string, int> printed;  // experiment id -> last printed state
  while (true) {
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    sched::ListExperimentsRequest request;
    request.set_sweep_id(sweep_id);
    sched::ListExperimentsResponse response;
    grpc::Status status = stub->ListExperiments(&context, request, &response);
    if (!status.ok()) return ReportRpcError(err, "scheduler ListExperiments", e.scheduler, status);
    int finished = 0;
    std::map<std::string, int> counts;
    for (const sched::Experiment& x : response.experiments()) {
      if (IsFinished(x.state())) ++finished;
      ++counts[ExperimentStateName(x.state())];
      auto it = printed.find(x.id());
      if (it != printed.end() && it->second == x.state()) continue;
      printed[x.id()] = x.state();
      out << "  " << x.id() << "  " << ExperimentStateName(x.state()) << "\n";
    }
    out.flush();
    if (finished == response.experiments_size()) {
      out << "sweep " << sweep_id << " finished:";
      for (const auto& [state, count] : counts) out << " " << count << " " << state;
      out << "\n";
      return counts.size() == 1 && counts.count("SUCCEEDED") > 0 ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

}  // namespace

int SweepCommand(const ParsedArgs& args, const Endpoints& e, std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 2 || args.positional[0] != "submit") {
    err << "usage: jepalab sweep submit SWEEP.yaml [--priority N] [--watch]   (sweep files: configs/sweeps/)\n";
    return 2;
  }
  const std::string& path = args.positional[1];
  absl::StatusOr<sched::SubmitSweepRequest> request = LoadSweepFile(path, "");
  if (!request.ok()) {
    err << "jepalab: sweep submit: " << request.status().message() << "\n";
    return 1;
  }
  int priority = 0;
  if (!ParsePriority(args, err, &priority)) return 2;
  request->set_priority(priority);
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  grpc::ClientContext context;
  SetDeadline(context, e.timeout_seconds);
  sched::SubmitSweepResponse response;
  grpc::Status status = stub->SubmitSweep(&context, *request, &response);
  if (!status.ok()) return ReportRpcError(err, "scheduler SubmitSweep", e.scheduler, status);
  int runs = 0;
  for (const sched::Experiment& x : response.experiments()) runs += x.runs_size();
  out << "submitted sweep " << response.sweep_id() << " (" << response.experiments_size() << " experiments, "
      << runs << " runs)\n";
  for (const sched::Experiment& x : response.experiments()) {
    out << "  " << x.id() << "  " << x.runs_size() << " run" << (x.runs_size() == 1 ? "" : "s") << "\n";
  }
  if (args.Has("watch")) return WatchSweep(response.sweep_id(), e, out, err);
  return 0;
}

}  // namespace jepalab::cli
