// Fuzzes plan files (SubmitPlan, `jepalab plan run`): ParsePlan, then ValidatePlan (without
// touching the file system) in full and mini mode, then the decision-tree helpers on a plan
// that validated, as the plan runner would call them.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "scheduler_service/core/plan.h"

namespace {

using jepalab::scheduler::PlanConfig;

void WalkValidPlan(const PlanConfig& plan, bool mini, bool all_stable) {
  std::map<std::string, bool> stable;
  for (int s = 0; s < plan.stages_size(); ++s) {
    for (const auto& run : plan.stages(s).runs()) {
      stable[run.name()] = all_stable;
      (void)jepalab::scheduler::RunConfigPath(run, mini);
      (void)jepalab::scheduler::RunSeeds(plan, run);
      int stage_index = -1;
      FUZZ_CHECK(jepalab::scheduler::FindRun(plan, run.name(), &stage_index) != nullptr,
                 run.name());
      FUZZ_CHECK(stage_index == s, run.name());
    }
  }
  for (const auto& stage : plan.stages()) {
    FUZZ_CHECK(jepalab::scheduler::FindStage(plan, stage.name()) >= 0, stage.name());
    const auto choice = jepalab::scheduler::ChooseBranch(stage, stable);
    FUZZ_CHECK(choice.ok(), choice.status().ToString());
    FUZZ_CHECK(choice->next_stage.empty() ||
                   jepalab::scheduler::FindStage(plan, choice->next_stage) >= 0,
               choice->next_stage);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  std::map<std::string, int> lines;
  const auto plan = jepalab::scheduler::ParsePlan(yaml, "fuzz_plan.yaml", &lines);
  if (!plan.ok()) return 0;
  for (const bool mini : {false, true}) {
    jepalab::scheduler::PlanValidationOptions options;
    options.mini = mini;
    options.check_files = false;
    if (!jepalab::scheduler::ValidatePlan(*plan, options).ok()) continue;
    WalkValidPlan(*plan, mini, /*all_stable=*/true);
    WalkValidPlan(*plan, mini, /*all_stable=*/false);
  }
  return 0;
}
