#include "cli/sweep_commands.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/progress_format.h"
#include "cli/rpc_helpers.h"
#include "common/status_macros.h"
#include "config/sweep_file.h"
#include "proto/scheduler.grpc.pb.h"
#include "proto/scheduler_states.h"

namespace jepalab::cli {
namespace {

using ::jepalab::config::LoadSweepFile;
namespace sched = ::jepalab::scheduler::v1;

// Polls the sweep's experiments, printing each state change, until all finished; OK iff every one
// succeeded.
absl::Status WatchSweep(const std::string& sweep_id, const Endpoints& e, std::ostream& out) {
  auto stub = sched::SchedulerService::NewStub(Connect(e.scheduler, e));
  std::map<std::string, int> printed;  // experiment id -> last printed state
  while (true) {
    grpc::ClientContext context;
    SetDeadline(context, e.timeout_seconds);
    sched::ListExperimentsRequest request;
    request.set_sweep_id(sweep_id);
    sched::ListExperimentsResponse response;
    grpc::Status status = stub->ListExperiments(&context, request, &response);
    if (!status.ok()) return RpcError("scheduler ListExperiments", e.scheduler, status);
    int finished = 0;
    std::map<std::string, int> counts;
    for (const sched::Experiment& x : response.experiments()) {
      if (scheduler::IsTerminal(x.state())) ++finished;
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
      return counts.size() == 1 && counts.count("SUCCEEDED") > 0 ? absl::OkStatus()
                                                                 : Unsuccessful();
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

// The base config path in the file is read relative to the working directory.
absl::Status Submit(const ParsedArgs& args, const Endpoints& e, CommandIo& io) {
  absl::StatusOr<sched::SubmitSweepRequest> request = LoadSweepFile(args.positional[0], "");
  if (!request.ok()) {
    return absl::Status(request.status().code(),
                        absl::StrCat("sweep submit: ", request.status().message()));
  }
  JEPALAB_ASSIGN_OR_RETURN(const int priority, ParsePriority(args));
  request->set_priority(priority);
  sched::SubmitSweepResponse response;
  JEPALAB_RETURN_IF_ERROR(CallUnary(e.scheduler, e, "scheduler SubmitSweep",
                                    &sched::SchedulerService::Stub::SubmitSweep, *request,
                                    &response));
  int runs = 0;
  for (const sched::Experiment& x : response.experiments()) runs += x.runs_size();
  io.out << "submitted sweep " << response.sweep_id() << " (" << response.experiments_size()
         << " experiments, " << runs << " runs)\n";
  for (const sched::Experiment& x : response.experiments()) {
    io.out << "  " << x.id() << "  " << x.runs_size() << " run" << (x.runs_size() == 1 ? "" : "s")
           << "\n";
  }
  if (args.Has("watch")) return WatchSweep(response.sweep_id(), e, io.out);
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> SweepCommands() {
  return {
      {"sweep submit",
       "SWEEP.yaml",
       "submit a sweep file (configs/sweeps/): base config, variants\n"
       "or a grid, seeds",
       {{"priority", "N", "higher runs first (default 0)"},
        {"watch", "", "follow its experiments until all finished (exit 0 iff all succeeded)"}},
       1,
       1,
       Submit},
  };
}

}  // namespace jepalab::cli
