// Diagnostic plan files (configs/plans/*.yaml, schema proto/config/plan_config.proto): loading,
// validation that names the bad field, and the pure decision-tree helpers (config path of a run
// in full or mini mode, which branch a finished stage takes).
#ifndef JEPALAB_CONFIG_PLAN_H_
#define JEPALAB_CONFIG_PLAN_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/config/plan_config.pb.h"

namespace jepalab::config {

using ::jepalab::config::v1::PlanBranch;
using ::jepalab::config::v1::PlanConfig;
using ::jepalab::config::v1::PlanRun;
using ::jepalab::config::v1::PlanStage;

// Reads one run config by its path as written in the plan: from the files a submission carried
// (ConfigsFromMap) or from a directory (ConfigsUnder). NotFound naming the path when absent.
using ConfigReader = std::function<absl::StatusOr<std::string>(const std::string& path)>;

// Files under `base_dir` (empty: the working directory).
ConfigReader ConfigsUnder(std::string base_dir);
// The entries of `files` (path -> YAML text), which must outlive the reader.
ConfigReader ConfigsFromMap(const google::protobuf::Map<std::string, std::string>& files);

// A plan's scale: which family of run configs it runs. "" runs each run's `config` (full size);
// a scale S runs `config` with "_S" before ".yaml" ("repro": the sixth run time-compressed,
// "mini": the quick plan; docs/configs.md), except that scale "mini" prefers a run's mini_config.
inline constexpr char kScaleRepro[] = "repro";
inline constexpr char kScaleMini[] = "mini";

// The scale a submission asks for: `scale`, or "mini" for the older `mini` flag. InvalidArgument
// naming `field` when the two disagree or the scale is not [a-z][a-z0-9]*.
absl::StatusOr<std::string> SubmissionScale(bool mini, const std::string& scale,
                                            absl::string_view field = "scale");

struct PlanValidationOptions {
  // Validate the configs the plan uses at this scale (see kScaleRepro).
  std::string scale;
  // Where run configs are read from; empty: their presence is not checked.
  ConfigReader read_config;
  // Optional deeper check of one run (needs read_config): its config's path (as in the plan),
  // text and overrides, e.g. loading it with LoadTrainerConfig. A non-OK status is reported for
  // that run.
  std::function<absl::Status(const std::string& config_path, const std::string& config_yaml,
                             const std::vector<std::string>& overrides)>
      check_run_config;
};

// Parses plan YAML (no validation). InvalidArgument naming `source_name`, line and key path for
// unknown keys, wrong types and malformed YAML. `lines` (optional) receives key path -> line.
absl::StatusOr<PlanConfig> ParsePlan(absl::string_view yaml, absl::string_view source_name,
                                     std::map<std::string, int>* lines = nullptr);

// Every rule of a plan; the first violation is InvalidArgument naming the field path and value:
//   name/stage/run names: [A-Za-z0-9][A-Za-z0-9._-]*, unique (runs unique across the plan);
//   stages and each stage's runs non-empty; run config set and (read_config) present:
//     "stages[1].runs[0].config: file not found: configs/training/x.yaml";
//   overrides "key=value"; seeds without duplicates; criteria and effect values in range;
//   branches name runs of their own stage and known stages ("unknown stage"); the stage graph
//   (branches' next + next) has no cycle and every stage is reachable from the first one;
//   reference_run names a run.
absl::Status ValidatePlan(const PlanConfig& plan, const PlanValidationOptions& options);

// The criteria a plan judges its runs by: `criteria`, with mini_criteria's fields on top at
// scale "mini".
void ApplyMiniCriteria(const std::string& scale, PlanConfig* plan);

// What a submission (SubmitPlanRequest, a schedule's plan target) changes in a parsed plan: the
// scale's criteria, `seeds` (when not empty) replacing the plan's and every run's, and `overrides`
// appended to every run's own. Validate the plan after this, so the overrides are checked too.
void ApplySubmission(const std::string& scale,
                     const google::protobuf::RepeatedField<int64_t>& seeds,
                     const google::protobuf::RepeatedPtrField<std::string>& overrides,
                     PlanConfig* plan);

// Reads, parses and validates a plan file; errors carry " (<path>:<line>)" where known.
// NotFound if the file cannot be read.
absl::StatusOr<PlanConfig> LoadPlanFile(const std::string& path,
                                        const PlanValidationOptions& options);

// The config path (as written in the plan, relative to the base dir) a run uses at `scale`:
// `config`, or at scale "mini" `mini_config` if set, else `config` with "_<scale>" inserted before
// ".yaml"/".yml". InvalidArgument if no path can be derived.
absl::StatusOr<std::string> RunConfigPath(const PlanRun& run, const std::string& scale);

// The text of every config the plan's runs use at `scale`, keyed by path as written in
// the plan: what a submission carries so that the scheduler needs no checkout. InvalidArgument
// naming the run's field when a config cannot be read.
absl::StatusOr<google::protobuf::Map<std::string, std::string>> CollectRunConfigs(
    const PlanConfig& plan, const std::string& scale, const ConfigReader& read_config);

// The seeds a run uses: its own, else the plan's (empty: the config's own seed).
std::vector<int64_t> RunSeeds(const PlanConfig& plan, const PlanRun& run);

// Index of the stage named `name`, -1 if none.
int FindStage(const PlanConfig& plan, absl::string_view name);
// The run named `name` anywhere in the plan (nullptr if none); `stage_index` receives its stage.
const PlanRun* FindRun(const PlanConfig& plan, absl::string_view name, int* stage_index = nullptr);

// Which way a finished stage goes.
struct BranchChoice {
  int branch_index = -1;   // -1: no branch matched, the stage's `next` applies
  std::string next_stage;  // empty: the plan ends
  std::string scenario;
  std::string conclusion;
};

// Picks the first branch whose conditions hold for `stable` (run name -> met the criteria).
// A run in `inconclusive` (its seeds disagree) satisfies neither if_stable nor if_unstable.
// FailedPrecondition if a run a branch needs before a match is decided has no entry in `stable`.
absl::StatusOr<BranchChoice> ChooseBranch(const PlanStage& stage,
                                          const std::map<std::string, bool>& stable,
                                          const std::set<std::string>& inconclusive = {});

}  // namespace jepalab::config

#endif  // JEPALAB_CONFIG_PLAN_H_
