// Fuzzes plan files (SubmitPlan, `jepalab plan run`): jepalab::config::ParsePlan, then
// jepalab::config::ValidatePlan (without touching the file system) in full and mini mode, then the
// decision-tree helpers on a plan that validated, as the plan runner would call them.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "config/plan.h"
#include "fuzz/fuzz_check.h"

namespace {

using jepalab::config::PlanConfig;

void WalkValidPlan(const PlanConfig& plan, const std::string& scale, bool all_stable) {
  std::map<std::string, bool> stable;
  for (int s = 0; s < plan.stages_size(); ++s) {
    for (const auto& run : plan.stages(s).runs()) {
      stable[run.name()] = all_stable;
      (void)jepalab::config::RunConfigPath(run, scale);
      (void)jepalab::config::RunSeeds(plan, run);
      int stage_index = -1;
      FUZZ_CHECK(jepalab::config::FindRun(plan, run.name(), &stage_index) != nullptr, run.name());
      FUZZ_CHECK(stage_index == s, run.name());
    }
  }
  for (const auto& stage : plan.stages()) {
    FUZZ_CHECK(jepalab::config::FindStage(plan, stage.name()) >= 0, stage.name());
    const auto choice = jepalab::config::ChooseBranch(stage, stable);
    FUZZ_CHECK(choice.ok(), choice.status().ToString());
    FUZZ_CHECK(
        choice->next_stage.empty() || jepalab::config::FindStage(plan, choice->next_stage) >= 0,
        choice->next_stage);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  std::map<std::string, int> lines;
  const auto plan = jepalab::config::ParsePlan(yaml, "fuzz_plan.yaml", &lines);
  if (!plan.ok()) return 0;
  for (const std::string scale : {"", "repro", "mini"}) {
    jepalab::config::PlanValidationOptions options;
    options.scale = scale;
    if (!jepalab::config::ValidatePlan(*plan, options).ok()) continue;
    WalkValidPlan(*plan, scale, /*all_stable=*/true);
    WalkValidPlan(*plan, scale, /*all_stable=*/false);
  }
  return 0;
}
