// A plan as a submission gives it (SubmitPlanRequest, or a schedule's plan target checked when the
// schedule is created): parsed, the submission's mini/seeds/overrides applied, validated with
// every run config loading, and the text of every config it may run. One function, so that plans
// and plan schedules accept and refuse exactly the same things.
#ifndef JEPALAB_CONFIG_PLAN_SUBMISSION_H_
#define JEPALAB_CONFIG_PLAN_SUBMISSION_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "config/plan.h"
#include "google/protobuf/map.h"
#include "google/protobuf/repeated_field.h"

namespace jepalab::config {

struct PlanSubmission {
  std::string plan_yaml;
  std::string source;  // for messages: the plan's path, or "<request>"
  bool mini = false;   // the older form of scale "mini"
  std::string scale;   // config family (config/plan.h, kScaleRepro); "" full size
  google::protobuf::RepeatedField<int64_t> seeds;
  google::protobuf::RepeatedPtrField<std::string> overrides;
  // The run configs the submitter sent, by path as written in the plan. Empty: read them from
  // `config_root` (a scheduler started with --config_root in a checkout).
  google::protobuf::Map<std::string, std::string> config_files;
  std::string config_root;
};

struct ResolvedPlan {
  std::string scale;  // the effective scale (SubmissionScale)
  PlanConfig config;  // submission applied
  // Every config the plan's runs use, by path: stored with the plan, so a restart runs exactly
  // what was accepted.
  google::protobuf::Map<std::string, std::string> config_files;
};

// InvalidArgument, prefixed with `source`, naming the field (and, for a run config, the run and
// the config's key) at the first problem.
absl::StatusOr<ResolvedPlan> ResolvePlanSubmission(const PlanSubmission& submission);

// The submission fields of a SubmitPlanRequest or SchedulePlanTarget (same names in both).
template <typename Request>
PlanSubmission ToPlanSubmission(const Request& request, std::string config_root) {
  PlanSubmission submission;
  submission.plan_yaml = request.plan_yaml();
  submission.source = request.plan_path().empty() ? "<request>" : request.plan_path();
  submission.mini = request.mini();
  submission.scale = request.scale();
  submission.seeds = request.seeds();
  submission.overrides = request.overrides();
  submission.config_files = request.config_files();
  submission.config_root = std::move(config_root);
  return submission;
}

// The scale a stored plan, request or schedule target runs at: `scale`, or "mini" for records
// written before `scale` existed (mini: true).
template <typename Record>
std::string RecordScale(const Record& record) {
  if (!record.scale().empty()) return record.scale();
  return record.mini() ? kScaleMini : "";
}

}  // namespace jepalab::config

#endif  // JEPALAB_CONFIG_PLAN_SUBMISSION_H_
