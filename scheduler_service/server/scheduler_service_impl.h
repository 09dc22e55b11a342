// gRPC adapter for jepalab.scheduler.v1.SchedulerService: unpacks requests, calls the Scheduler
// core, packs responses and converts statuses. No scheduling logic lives here.
#ifndef JEPALAB_SCHEDULER_SERVICE_SERVER_SCHEDULER_SERVICE_IMPL_H_
#define JEPALAB_SCHEDULER_SERVICE_SERVER_SCHEDULER_SERVICE_IMPL_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/sync_stream.h>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/rpc_auth.h"
#include "proto/scheduler.grpc.pb.h"
#include "scheduler_service/core/plan_runner.h"
#include "scheduler_service/core/schedule_runner.h"
#include "scheduler_service/core/scheduler.h"

namespace jepalab::scheduler {

// Does not own the scheduler, the plan runner or the clock; they must outlive it. Thread-safe.
class SchedulerServiceImpl final : public v1::SchedulerService::Service {
 public:
  // `clock` stamps WatchExperiment events; null: the system clock. `watch_poll` bounds how long
  // a WatchExperiment handler waits before checking whether its client went away. Without
  // `plans` the plan RPCs are UNIMPLEMENTED. `authorizer` guards the mutating RPCs
  // (SubmitExperiment, SubmitSweep, CancelExperiment, SubmitPlan, CancelPlan): without the
  // bearer token they fail UNAUTHENTICATED. The read-only RPCs stay open. Without `schedules`
  // the schedule RPCs are UNIMPLEMENTED; Create/Pause/Resume/DeleteSchedule need the token too.
  explicit SchedulerServiceImpl(Scheduler* scheduler, const common::Clock* clock = nullptr,
                                absl::Duration watch_poll = absl::Milliseconds(250),
                                PlanRunner* plans = nullptr,
                                common::RpcAuthorizer authorizer = common::RpcAuthorizer(),
                                ScheduleRunner* schedules = nullptr);

  grpc::Status SubmitExperiment(grpc::ServerContext* context,
                                const v1::SubmitExperimentRequest* request,
                                v1::SubmitExperimentResponse* response) override;
  grpc::Status SubmitSweep(grpc::ServerContext* context, const v1::SubmitSweepRequest* request,
                           v1::SubmitSweepResponse* response) override;
  grpc::Status GetExperiment(grpc::ServerContext* context, const v1::GetExperimentRequest* request,
                             v1::GetExperimentResponse* response) override;
  grpc::Status ListExperiments(grpc::ServerContext* context,
                               const v1::ListExperimentsRequest* request,
                               v1::ListExperimentsResponse* response) override;
  grpc::Status CancelExperiment(grpc::ServerContext* context,
                                const v1::CancelExperimentRequest* request,
                                v1::CancelExperimentResponse* response) override;
  grpc::Status WatchExperiment(grpc::ServerContext* context,
                               const v1::WatchExperimentRequest* request,
                               grpc::ServerWriter<v1::ExperimentEvent>* writer) override;
  grpc::Status SubmitPlan(grpc::ServerContext* context, const v1::SubmitPlanRequest* request,
                          v1::SubmitPlanResponse* response) override;
  grpc::Status GetPlan(grpc::ServerContext* context, const v1::GetPlanRequest* request,
                       v1::GetPlanResponse* response) override;
  grpc::Status ListPlans(grpc::ServerContext* context, const v1::ListPlansRequest* request,
                         v1::ListPlansResponse* response) override;
  grpc::Status CancelPlan(grpc::ServerContext* context, const v1::CancelPlanRequest* request,
                          v1::CancelPlanResponse* response) override;
  grpc::Status CreateSchedule(grpc::ServerContext* context,
                              const v1::CreateScheduleRequest* request,
                              v1::CreateScheduleResponse* response) override;
  grpc::Status ListSchedules(grpc::ServerContext* context, const v1::ListSchedulesRequest* request,
                             v1::ListSchedulesResponse* response) override;
  grpc::Status GetSchedule(grpc::ServerContext* context, const v1::GetScheduleRequest* request,
                           v1::GetScheduleResponse* response) override;
  grpc::Status PauseSchedule(grpc::ServerContext* context, const v1::PauseScheduleRequest* request,
                             v1::PauseScheduleResponse* response) override;
  grpc::Status ResumeSchedule(grpc::ServerContext* context,
                              const v1::ResumeScheduleRequest* request,
                              v1::ResumeScheduleResponse* response) override;
  grpc::Status DeleteSchedule(grpc::ServerContext* context,
                              const v1::DeleteScheduleRequest* request,
                              v1::DeleteScheduleResponse* response) override;

 private:
  Scheduler* const scheduler_;
  const common::SystemClock system_clock_;
  const common::Clock* const clock_;
  const absl::Duration watch_poll_;
  PlanRunner* const plans_;
  const common::RpcAuthorizer authorizer_;
  ScheduleRunner* const schedules_;
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_SERVER_SCHEDULER_SERVICE_IMPL_H_
