#include "scheduler_service/server/scheduler_service_impl.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/logging.h"

namespace jepalab::scheduler {
namespace {

grpc::Status Reply(const absl::Status& status, absl::string_view rpc) {
  if (!status.ok()) VLOG(1) << rpc << " failed: " << status;
  return common::ToGrpcStatus(status);
}

absl::Status NoPlans() { return absl::UnimplementedError("this scheduler does not run plans"); }
absl::Status NoSchedules() {
  return absl::UnimplementedError("this scheduler does not run schedules");
}

}  // namespace

SchedulerServiceImpl::SchedulerServiceImpl(Scheduler* scheduler, const common::Clock* clock,
                                           absl::Duration watch_poll, PlanRunner* plans,
                                           common::RpcAuthorizer authorizer,
                                           ScheduleRunner* schedules)
    : scheduler_(scheduler),
      clock_(clock != nullptr ? clock : &system_clock_),
      watch_poll_(watch_poll),
      plans_(plans),
      authorizer_(std::move(authorizer)),
      schedules_(schedules) {}

grpc::Status SchedulerServiceImpl::SubmitExperiment(grpc::ServerContext* context,
                                                    const v1::SubmitExperimentRequest* request,
                                                    v1::SubmitExperimentResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "SubmitExperiment"); !auth.ok()) {
    return Reply(auth, "SubmitExperiment");
  }
  absl::StatusOr<v1::Experiment> experiment = scheduler_->SubmitExperiment(*request);
  if (!experiment.ok()) return Reply(experiment.status(), "SubmitExperiment");
  *response->mutable_experiment() = *std::move(experiment);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::SubmitSweep(grpc::ServerContext* context,
                                               const v1::SubmitSweepRequest* request,
                                               v1::SubmitSweepResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "SubmitSweep"); !auth.ok()) {
    return Reply(auth, "SubmitSweep");
  }
  absl::StatusOr<SweepResult> sweep = scheduler_->SubmitSweep(*request);
  if (!sweep.ok()) return Reply(sweep.status(), "SubmitSweep");
  response->set_sweep_id(sweep->sweep_id);
  for (v1::Experiment& experiment : sweep->experiments) {
    *response->add_experiments() = std::move(experiment);
  }
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::GetExperiment(grpc::ServerContext* /*context*/,
                                                 const v1::GetExperimentRequest* request,
                                                 v1::GetExperimentResponse* response) {
  absl::StatusOr<v1::Experiment> experiment = scheduler_->GetExperiment(request->id());
  if (!experiment.ok()) return Reply(experiment.status(), "GetExperiment");
  *response->mutable_experiment() = *std::move(experiment);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::ListExperiments(grpc::ServerContext* /*context*/,
                                                   const v1::ListExperimentsRequest* request,
                                                   v1::ListExperimentsResponse* response) {
  std::vector<ExperimentState> states;
  for (int state : request->states()) states.push_back(static_cast<ExperimentState>(state));
  for (v1::Experiment& experiment : scheduler_->ListExperiments(states, request->sweep_id())) {
    *response->add_experiments() = std::move(experiment);
  }
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::CancelExperiment(grpc::ServerContext* context,
                                                    const v1::CancelExperimentRequest* request,
                                                    v1::CancelExperimentResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "CancelExperiment"); !auth.ok()) {
    return Reply(auth, "CancelExperiment");
  }
  absl::StatusOr<v1::Experiment> experiment = scheduler_->CancelExperiment(request->id());
  if (!experiment.ok()) return Reply(experiment.status(), "CancelExperiment");
  *response->mutable_experiment() = *std::move(experiment);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::WatchExperiment(
    grpc::ServerContext* context, const v1::WatchExperimentRequest* request,
    grpc::ServerWriter<v1::ExperimentEvent>* writer) {
  absl::StatusOr<ExperimentSnapshot> snapshot = scheduler_->GetSnapshot(request->id());
  if (!snapshot.ok()) return Reply(snapshot.status(), "WatchExperiment");
  const absl::Time client_deadline = absl::FromChrono(context->deadline());
  while (true) {
    v1::ExperimentEvent event;
    *event.mutable_experiment() = snapshot->experiment;
    event.set_unix_ms(clock_->NowUnixMillis());
    if (!writer->Write(event))
      return Reply(absl::CancelledError("client went away"), "WatchExperiment");
    if (snapshot->finished) return grpc::Status::OK;
    const int64_t seen = snapshot->version;
    // Wait in slices so a cancelled or expired call is noticed promptly.
    while (snapshot->version == seen) {
      if (context->IsCancelled()) {
        return Reply(absl::CancelledError("watch cancelled by the client"), "WatchExperiment");
      }
      if (absl::Now() >= client_deadline) {
        return Reply(absl::DeadlineExceededError("watch deadline passed"), "WatchExperiment");
      }
      const absl::Time deadline = std::min(absl::Now() + watch_poll_, client_deadline);
      snapshot = scheduler_->WaitForChange(request->id(), seen, deadline);
      if (!snapshot.ok()) return Reply(snapshot.status(), "WatchExperiment");
    }
  }
}

grpc::Status SchedulerServiceImpl::SubmitPlan(grpc::ServerContext* context,
                                              const v1::SubmitPlanRequest* request,
                                              v1::SubmitPlanResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "SubmitPlan"); !auth.ok()) {
    return Reply(auth, "SubmitPlan");
  }
  if (plans_ == nullptr) return Reply(NoPlans(), "SubmitPlan");
  absl::StatusOr<v1::Plan> plan = plans_->SubmitPlan(*request);
  if (!plan.ok()) return Reply(plan.status(), "SubmitPlan");
  *response->mutable_plan() = *std::move(plan);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::GetPlan(grpc::ServerContext* /*context*/,
                                           const v1::GetPlanRequest* request,
                                           v1::GetPlanResponse* response) {
  if (plans_ == nullptr) return Reply(NoPlans(), "GetPlan");
  absl::StatusOr<v1::Plan> plan = plans_->GetPlan(request->id());
  if (!plan.ok()) return Reply(plan.status(), "GetPlan");
  *response->mutable_plan() = *std::move(plan);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::ListPlans(grpc::ServerContext* /*context*/,
                                             const v1::ListPlansRequest* /*request*/,
                                             v1::ListPlansResponse* response) {
  if (plans_ == nullptr) return Reply(NoPlans(), "ListPlans");
  for (v1::Plan& plan : plans_->ListPlans()) *response->add_plans() = std::move(plan);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::CancelPlan(grpc::ServerContext* context,
                                              const v1::CancelPlanRequest* request,
                                              v1::CancelPlanResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "CancelPlan"); !auth.ok()) {
    return Reply(auth, "CancelPlan");
  }
  if (plans_ == nullptr) return Reply(NoPlans(), "CancelPlan");
  absl::StatusOr<v1::Plan> plan = plans_->CancelPlan(request->id());
  if (!plan.ok()) return Reply(plan.status(), "CancelPlan");
  *response->mutable_plan() = *std::move(plan);
  return grpc::Status::OK;
}

// --- Schedules ---------------------------------------------------------------------------------

grpc::Status SchedulerServiceImpl::CreateSchedule(grpc::ServerContext* context,
                                                  const v1::CreateScheduleRequest* request,
                                                  v1::CreateScheduleResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "CreateSchedule"); !auth.ok()) {
    return Reply(auth, "CreateSchedule");
  }
  if (schedules_ == nullptr) return Reply(NoSchedules(), "CreateSchedule");
  absl::StatusOr<v1::Schedule> schedule = schedules_->CreateSchedule(*request);
  if (!schedule.ok()) return Reply(schedule.status(), "CreateSchedule");
  *response->mutable_schedule() = *std::move(schedule);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::ListSchedules(grpc::ServerContext* /*context*/,
                                                 const v1::ListSchedulesRequest* /*request*/,
                                                 v1::ListSchedulesResponse* response) {
  if (schedules_ == nullptr) return Reply(NoSchedules(), "ListSchedules");
  for (v1::Schedule& schedule : schedules_->ListSchedules()) {
    *response->add_schedules() = std::move(schedule);
  }
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::GetSchedule(grpc::ServerContext* /*context*/,
                                               const v1::GetScheduleRequest* request,
                                               v1::GetScheduleResponse* response) {
  if (schedules_ == nullptr) return Reply(NoSchedules(), "GetSchedule");
  absl::StatusOr<v1::Schedule> schedule = schedules_->GetSchedule(request->name());
  if (!schedule.ok()) return Reply(schedule.status(), "GetSchedule");
  *response->mutable_schedule() = *std::move(schedule);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::PauseSchedule(grpc::ServerContext* context,
                                                 const v1::PauseScheduleRequest* request,
                                                 v1::PauseScheduleResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "PauseSchedule"); !auth.ok()) {
    return Reply(auth, "PauseSchedule");
  }
  if (schedules_ == nullptr) return Reply(NoSchedules(), "PauseSchedule");
  absl::StatusOr<v1::Schedule> schedule = schedules_->PauseSchedule(request->name());
  if (!schedule.ok()) return Reply(schedule.status(), "PauseSchedule");
  *response->mutable_schedule() = *std::move(schedule);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::ResumeSchedule(grpc::ServerContext* context,
                                                  const v1::ResumeScheduleRequest* request,
                                                  v1::ResumeScheduleResponse* response) {
  if (absl::Status auth = authorizer_.Authorize(*context, "ResumeSchedule"); !auth.ok()) {
    return Reply(auth, "ResumeSchedule");
  }
  if (schedules_ == nullptr) return Reply(NoSchedules(), "ResumeSchedule");
  absl::StatusOr<v1::Schedule> schedule = schedules_->ResumeSchedule(request->name());
  if (!schedule.ok()) return Reply(schedule.status(), "ResumeSchedule");
  *response->mutable_schedule() = *std::move(schedule);
  return grpc::Status::OK;
}

grpc::Status SchedulerServiceImpl::DeleteSchedule(grpc::ServerContext* context,
                                                  const v1::DeleteScheduleRequest* request,
                                                  v1::DeleteScheduleResponse* /*response*/) {
  if (absl::Status auth = authorizer_.Authorize(*context, "DeleteSchedule"); !auth.ok()) {
    return Reply(auth, "DeleteSchedule");
  }
  if (schedules_ == nullptr) return Reply(NoSchedules(), "DeleteSchedule");
  return Reply(schedules_->DeleteSchedule(request->name()), "DeleteSchedule");
}

}  // namespace jepalab::scheduler
