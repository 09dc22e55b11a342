#include "config/plan.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "common/yaml_proto.h"

namespace jepalab::config {
namespace {

using ::jepalab::config::v1::PlanCriteria;
using ::jepalab::config::v1::PlanEffectConfig;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// At scale "mini" a run's explicit mini_config replaces the derived path.
bool UsesMiniConfig(const PlanRun& run, const std::string& scale) {
  return scale == kScaleMini && run.has_mini_config();
}

absl::Status ValidateSeeds(const std::string& field,
                           const google::protobuf::RepeatedField<int64_t>& seeds) {
  std::set<int64_t> seen;
  for (int i = 0; i < seeds.size(); ++i) {
    if (seeds[i] < 0) {
      return Invalid(absl::StrCat(field, "[", i, "]"),
                     absl::StrCat("must be >= 0, got ", seeds[i]));
    }
    if (!seen.insert(seeds[i]).second) {
      return Invalid(absl::StrCat(field, "[", i, "]"), absl::StrCat("duplicate seed ", seeds[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCriteria(const PlanCriteria& c, const std::string& field) {
  if (!(c.val_loss_tolerance() >= 0)) {
    return Invalid(absl::StrCat(field, ".val_loss_tolerance"),
                   absl::StrCat("must be >= 0, got ", c.val_loss_tolerance()));
  }
  if (!(c.spike_factor() > 1)) {
    return Invalid(absl::StrCat(field, ".spike_factor"),
                   absl::StrCat("must be > 1, got ", c.spike_factor()));
  }
  if (c.has_min_rankme() && !(c.min_rankme() >= 0)) {
    return Invalid(absl::StrCat(field, ".min_rankme"),
                   absl::StrCat("must be >= 0, got ", c.min_rankme()));
  }
  if (c.has_min_isotropy_robust() && !(c.min_isotropy_robust() >= 0)) {
    return Invalid(absl::StrCat(field, ".min_isotropy_robust"),
                   absl::StrCat("must be >= 0, got ", c.min_isotropy_robust()));
  }
  if (c.has_min_participation_ratio() && !(c.min_participation_ratio() >= 0)) {
    return Invalid(absl::StrCat(field, ".min_participation_ratio"),
                   absl::StrCat("must be >= 0, got ", c.min_participation_ratio()));
  }
  // The minimum is taken over points that include the early window, so it is at most the early
  // value: a fraction above 1 cannot pass.
  if (c.has_min_rankme_fraction_of_early() &&
      !(c.min_rankme_fraction_of_early() > 0 && c.min_rankme_fraction_of_early() <= 1)) {
    return Invalid(absl::StrCat(field, ".min_rankme_fraction_of_early"),
                   absl::StrCat("must be in (0, 1], got ", c.min_rankme_fraction_of_early()));
  }
  if (c.has_min_rankme_fraction_of_reference() && !(c.min_rankme_fraction_of_reference() > 0)) {
    return Invalid(absl::StrCat(field, ".min_rankme_fraction_of_reference"),
                   absl::StrCat("must be > 0, got ", c.min_rankme_fraction_of_reference()));
  }
  if (c.early_window_points() < 1) {
    return Invalid(absl::StrCat(field, ".early_window_points"),
                   absl::StrCat("must be >= 1, got ", c.early_window_points()));
  }
  for (int i = 0; i < c.encoders_size(); ++i) {
    if (c.encoders(i) != "context" && c.encoders(i) != "target") {
      return Invalid(
          absl::StrCat(field, ".encoders[", i, "]"),
          absl::StrCat("must be \"context\" or \"target\", got \"", c.encoders(i), "\""));
    }
  }
  if (c.warmup_steps() < 0) {
    return Invalid(absl::StrCat(field, ".warmup_steps"),
                   absl::StrCat("must be >= 0, got ", c.warmup_steps()));
  }
  return absl::OkStatus();
}

absl::Status ValidateStopOnCollapse(const ::jepalab::config::v1::PlanStopOnCollapse& stop) {
  if (stop.confirm_events() < 1) {
    return Invalid("stop_on_collapse.confirm_events",
                   absl::StrCat("must be >= 1, got ", stop.confirm_events()));
  }
  for (int i = 0; i < stop.indicators_size(); ++i) {
    if (stop.indicators(i).empty()) {
      return Invalid(absl::StrCat("stop_on_collapse.indicators[", i, "]"), "must not be empty");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEffect(const PlanEffectConfig& e) {
  if (!(e.relative_tolerance() >= 0)) {
    return Invalid("effect.relative_tolerance",
                   absl::StrCat("must be >= 0, got ", e.relative_tolerance()));
  }
  if (!(e.spread_multiplier() >= 0)) {
    return Invalid("effect.spread_multiplier",
                   absl::StrCat("must be >= 0, got ", e.spread_multiplier()));
  }
  if (e.max_knob_keys() < 1) {
    return Invalid("effect.max_knob_keys", absl::StrCat("must be >= 1, got ", e.max_knob_keys()));
  }
  return absl::OkStatus();
}

absl::Status ValidateRun(const PlanRun& run, const std::string& field,
                         const PlanValidationOptions& options) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId(absl::StrCat(field, ".name"), run.name()));
  if (run.config().empty()) return Invalid(absl::StrCat(field, ".config"), "must be set");
  for (int k = 0; k < run.overrides_size(); ++k) {
    const std::string& text = run.overrides(k);
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Invalid(absl::StrCat(field, ".overrides[", k, "]"),
                     absl::StrCat("expected key=value, got \"", text, "\""));
    }
  }
  JEPALAB_RETURN_IF_ERROR(ValidateSeeds(absl::StrCat(field, ".seeds"), run.seeds()));
  absl::StatusOr<std::string> path = RunConfigPath(run, options.scale);
  const std::string path_field =
      absl::StrCat(field, UsesMiniConfig(run, options.scale) ? ".mini_config" : ".config");
  if (!path.ok()) return Invalid(path_field, path.status().message());
  // A scheduler without the submission's files reads them relative to its config root: no
  // request may make it read a file outside that root.
  const std::filesystem::path relative(*path);
  bool escapes = relative.is_absolute();
  for (const std::filesystem::path& part : relative) escapes = escapes || part == "..";
  if (escapes) {
    return Invalid(path_field,
                   absl::StrCat("must be a relative path without \"..\", got \"", *path, "\""));
  }
  if (!options.read_config) return absl::OkStatus();
  absl::StatusOr<std::string> config_yaml = options.read_config(*path);
  if (!config_yaml.ok()) return Invalid(path_field, config_yaml.status().message());
  if (options.check_run_config) {
    absl::Status status = options.check_run_config(
        *path, *config_yaml, {run.overrides().begin(), run.overrides().end()});
    if (!status.ok()) {
      return Invalid(field,
                     absl::StrCat("run \"", run.name(), "\" (", *path, "): ", status.message()));
    }
  }
  return absl::OkStatus();
}

// Stage indices reachable in one step from `index`, each with the field that names it.
std::vector<std::pair<int, std::string>> Edges(const PlanConfig& plan, int index) {
  std::vector<std::pair<int, std::string>> edges;
  const PlanStage& stage = plan.stages(index);
  for (int b = 0; b < stage.branches_size(); ++b) {
    if (stage.branches(b).next().empty()) continue;
    edges.emplace_back(FindStage(plan, stage.branches(b).next()),
                       absl::StrCat("stages[", index, "].branches[", b, "].next"));
  }
  if (!stage.next().empty()) {
    edges.emplace_back(FindStage(plan, stage.next()), absl::StrCat("stages[", index, "].next"));
  }
  return edges;
}

// Depth-first search for a cycle; `path` holds the stages on the current path.
absl::Status FindCycle(const PlanConfig& plan, int index, std::vector<int>& state,
                       std::vector<int>& path) {
  state[index] = 1;  // on the path
  path.push_back(index);
  for (const auto& [to, field] : Edges(plan, index)) {
    if (state[to] == 1) {
      std::vector<std::string> names;
      for (auto it = std::find(path.begin(), path.end(), to); it != path.end(); ++it) {
        names.push_back(plan.stages(*it).name());
      }
      names.push_back(plan.stages(to).name());
      return Invalid(field, absl::StrCat("cycle: ", absl::StrJoin(names, " -> ")));
    }
    if (state[to] == 0) JEPALAB_RETURN_IF_ERROR(FindCycle(plan, to, state, path));
  }
  path.pop_back();
  state[index] = 2;  // done
  return absl::OkStatus();
}

// Like common::AnnotateWithLine, but keeps list indices: plan fields live in lists of stages
// and runs, so "stages[1].runs[0].config" must find its own line, not that of "stages".
absl::Status WithPlanLine(const absl::Status& status, absl::string_view source,
                          const common::FieldLines& lines) {
  const absl::string_view message = status.message();
  const size_t colon = message.find(": ");
  if (status.ok() || colon == absl::string_view::npos) return status;
  std::string path(message.substr(0, colon));
  while (!path.empty()) {
    auto it = lines.find(path);
    if (it != lines.end()) {
      return absl::Status(status.code(), absl::StrCat(message, " (", source, ":", it->second, ")"));
    }
    const size_t cut = path.find_last_of(".[");
    if (cut == std::string::npos) break;
    path.resize(cut);
  }
  return common::AnnotateWithLine(status, source, lines);
}

}  // namespace

absl::StatusOr<PlanConfig> ParsePlan(absl::string_view yaml, absl::string_view source_name,
                                     std::map<std::string, int>* lines) {
  PlanConfig plan;
  JEPALAB_RETURN_IF_ERROR(common::ParseYamlInto(yaml, source_name, {}, &plan, lines));
  return plan;
}

void ApplyMiniCriteria(const std::string& scale, PlanConfig* plan) {
  if (scale == kScaleMini && plan->has_mini_criteria())
    plan->mutable_criteria()->MergeFrom(plan->mini_criteria());
}

void ApplySubmission(const std::string& scale,
                     const google::protobuf::RepeatedField<int64_t>& seeds,
                     const google::protobuf::RepeatedPtrField<std::string>& overrides,
                     PlanConfig* plan) {
  ApplyMiniCriteria(scale, plan);
  if (!seeds.empty()) *plan->mutable_seeds() = seeds;
  for (PlanStage& stage : *plan->mutable_stages()) {
    for (PlanRun& run : *stage.mutable_runs()) {
      if (!seeds.empty()) run.clear_seeds();
      for (const std::string& override_text : overrides) run.add_overrides(override_text);
    }
  }
}

absl::Status ValidatePlan(const PlanConfig& plan, const PlanValidationOptions& options) {
  JEPALAB_RETURN_IF_ERROR(common::ValidateId("name", plan.name()));
  JEPALAB_RETURN_IF_ERROR(ValidateSeeds("seeds", plan.seeds()));
  JEPALAB_RETURN_IF_ERROR(ValidateCriteria(plan.criteria(), "criteria"));
  JEPALAB_RETURN_IF_ERROR(ValidateCriteria(plan.mini_criteria(), "mini_criteria"));
  JEPALAB_RETURN_IF_ERROR(ValidateEffect(plan.effect()));
  JEPALAB_RETURN_IF_ERROR(ValidateStopOnCollapse(plan.stop_on_collapse()));
  if (plan.stages().empty()) return Invalid("stages", "must not be empty");

  std::map<std::string, int> stage_names;
  std::map<std::string, std::string> run_names;  // name -> field of its first definition
  for (int s = 0; s < plan.stages_size(); ++s) {
    const PlanStage& stage = plan.stages(s);
    const std::string field = absl::StrCat("stages[", s, "]");
    JEPALAB_RETURN_IF_ERROR(common::ValidateId(absl::StrCat(field, ".name"), stage.name()));
    if (!stage_names.emplace(stage.name(), s).second) {
      return Invalid(absl::StrCat(field, ".name"),
                     absl::StrCat("duplicate stage \"", stage.name(), "\""));
    }
    if (stage.runs().empty()) return Invalid(absl::StrCat(field, ".runs"), "must not be empty");
    for (int r = 0; r < stage.runs_size(); ++r) {
      const std::string run_field = absl::StrCat(field, ".runs[", r, "]");
      const PlanRun& run = stage.runs(r);
      JEPALAB_RETURN_IF_ERROR(ValidateRun(run, run_field, options));
      auto [it, inserted] = run_names.emplace(run.name(), run_field);
      if (!inserted) {
        return Invalid(
            absl::StrCat(run_field, ".name"),
            absl::StrCat("duplicate run \"", run.name(), "\" (first in ", it->second, ")"));
      }
    }
  }

  // Branches: their runs belong to the stage, their targets exist.
  for (int s = 0; s < plan.stages_size(); ++s) {
    const PlanStage& stage = plan.stages(s);
    std::set<std::string> own_runs;
    for (const PlanRun& run : stage.runs()) own_runs.insert(run.name());
    auto check_runs = [&](const std::string& field,
                          const google::protobuf::RepeatedPtrField<std::string>& names) {
      for (int i = 0; i < names.size(); ++i) {
        if (own_runs.count(names[i]) == 0) {
          return Invalid(absl::StrCat(field, "[", i, "]"),
                         absl::StrCat("unknown run \"", names[i], "\" (not a run of stage \"",
                                      stage.name(), "\")"));
        }
      }
      return absl::OkStatus();
    };
    for (int b = 0; b < stage.branches_size(); ++b) {
      const PlanBranch& branch = stage.branches(b);
      const std::string field = absl::StrCat("stages[", s, "].branches[", b, "]");
      JEPALAB_RETURN_IF_ERROR(check_runs(absl::StrCat(field, ".if_stable"), branch.if_stable()));
      JEPALAB_RETURN_IF_ERROR(
          check_runs(absl::StrCat(field, ".if_unstable"), branch.if_unstable()));
      if (!branch.next().empty() && stage_names.count(branch.next()) == 0) {
        return Invalid(absl::StrCat(field, ".next"),
                       absl::StrCat("unknown stage \"", branch.next(), "\""));
      }
    }
    if (!stage.next().empty() && stage_names.count(stage.next()) == 0) {
      return Invalid(absl::StrCat("stages[", s, "].next"),
                     absl::StrCat("unknown stage \"", stage.next(), "\""));
    }
  }

  // The stage graph: acyclic, everything reachable from the entry stage.
  std::vector<int> state(plan.stages_size(), 0);
  std::vector<int> path;
  JEPALAB_RETURN_IF_ERROR(FindCycle(plan, 0, state, path));
  for (int s = 0; s < plan.stages_size(); ++s) {
    if (state[s] == 0) {
      return Invalid(
          absl::StrCat("stages[", s, "]"),
          absl::StrCat("stage \"", plan.stages(s).name(),
                       "\" is unreachable from the first stage \"", plan.stages(0).name(), "\""));
    }
  }

  if (plan.reference_run().empty() && plan.criteria().has_min_rankme_fraction_of_reference()) {
    return Invalid("criteria.min_rankme_fraction_of_reference", "needs reference_run");
  }
  if (!plan.reference_run().empty() && run_names.count(plan.reference_run()) == 0) {
    return Invalid("reference_run", absl::StrCat("unknown run \"", plan.reference_run(), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<PlanConfig> LoadPlanFile(const std::string& path,
                                        const PlanValidationOptions& options) {
  JEPALAB_ASSIGN_OR_RETURN(const std::string text, common::ReadFile(path));
  common::FieldLines lines;
  JEPALAB_ASSIGN_OR_RETURN(PlanConfig plan, ParsePlan(text, path, &lines));
  absl::Status status = ValidatePlan(plan, options);
  if (!status.ok()) return WithPlanLine(status, path, lines);
  return plan;
}

ConfigReader ConfigsUnder(std::string base_dir) {
  return [base_dir = std::move(base_dir)](const std::string& path) -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> text = common::ReadFile(common::JoinPath(base_dir, path));
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat("file not found: ", path));
    }
    return text;
  };
}

ConfigReader ConfigsFromMap(const google::protobuf::Map<std::string, std::string>& files) {
  return [&files](const std::string& path) -> absl::StatusOr<std::string> {
    auto found = files.find(path);
    if (found == files.end()) {
      return absl::NotFoundError(absl::StrCat("not among the submitted config files: ", path));
    }
    return found->second;
  };
}

absl::StatusOr<google::protobuf::Map<std::string, std::string>> CollectRunConfigs(
    const PlanConfig& plan, const std::string& scale, const ConfigReader& read_config) {
  google::protobuf::Map<std::string, std::string> files;
  for (int s = 0; s < plan.stages_size(); ++s) {
    for (int r = 0; r < plan.stages(s).runs_size(); ++r) {
      const PlanRun& run = plan.stages(s).runs(r);
      const std::string field = absl::StrCat("stages[", s, "].runs[", r, "].",
                                             UsesMiniConfig(run, scale) ? "mini_config" : "config");
      absl::StatusOr<std::string> path = RunConfigPath(run, scale);
      if (!path.ok()) return Invalid(field, path.status().message());
      if (files.count(*path) > 0) continue;
      absl::StatusOr<std::string> text = read_config(*path);
      if (!text.ok()) return Invalid(field, text.status().message());
      files[*path] = *std::move(text);
    }
  }
  return files;
}

absl::StatusOr<std::string> SubmissionScale(bool mini, const std::string& scale,
                                            absl::string_view field) {
  if (mini && !scale.empty() && scale != kScaleMini) {
    return Invalid(field, absl::StrCat("\"", scale, "\" contradicts mini: true"));
  }
  const std::string effective = mini ? kScaleMini : scale;
  for (size_t i = 0; i < effective.size(); ++i) {
    const char c = effective[i];
    const bool ok = (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return Invalid(field, absl::StrCat("must match [a-z][a-z0-9]* (a config suffix such as \"",
                                         kScaleRepro, "\"), got \"", effective, "\""));
    }
  }
  return effective;
}

absl::StatusOr<std::string> RunConfigPath(const PlanRun& run, const std::string& scale) {
  if (scale.empty()) return run.config();
  if (UsesMiniConfig(run, scale)) return run.mini_config();
  for (absl::string_view suffix : {".yaml", ".yml"}) {
    if (absl::EndsWith(run.config(), suffix)) {
      const std::string stem = run.config().substr(0, run.config().size() - suffix.size());
      return absl::StrCat(stem, "_", scale, suffix);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("cannot derive the ", scale, " config from \"",
                                                 run.config(), "\" (no .yaml suffix)",
                                                 scale == kScaleMini ? "; set mini_config" : ""));
}

std::vector<int64_t> RunSeeds(const PlanConfig& plan, const PlanRun& run) {
  if (!run.seeds().empty()) return {run.seeds().begin(), run.seeds().end()};
  return {plan.seeds().begin(), plan.seeds().end()};
}

int FindStage(const PlanConfig& plan, absl::string_view name) {
  for (int s = 0; s < plan.stages_size(); ++s) {
    if (plan.stages(s).name() == name) return s;
  }
  return -1;
}

const PlanRun* FindRun(const PlanConfig& plan, absl::string_view name, int* stage_index) {
  for (int s = 0; s < plan.stages_size(); ++s) {
    for (const PlanRun& run : plan.stages(s).runs()) {
      if (run.name() == name) {
        if (stage_index != nullptr) *stage_index = s;
        return &run;
      }
    }
  }
  return nullptr;
}

absl::StatusOr<BranchChoice> ChooseBranch(const PlanStage& stage,
                                          const std::map<std::string, bool>& stable,
                                          const std::set<std::string>& inconclusive) {
  for (int b = 0; b < stage.branches_size(); ++b) {
    const PlanBranch& branch = stage.branches(b);
    bool matches = true;
    auto check = [&](const std::string& run, bool want_stable) -> absl::Status {
      auto it = stable.find(run);
      if (it == stable.end()) {
        return absl::FailedPreconditionError(absl::StrCat("stage ", stage.name(), ": branches[", b,
                                                          "] needs the outcome of run \"", run,
                                                          "\", which has none yet"));
      }
      matches = matches && it->second == want_stable && inconclusive.count(run) == 0;
      return absl::OkStatus();
    };
    for (const std::string& run : branch.if_stable()) JEPALAB_RETURN_IF_ERROR(check(run, true));
    for (const std::string& run : branch.if_unstable()) JEPALAB_RETURN_IF_ERROR(check(run, false));
    if (matches) {
      return BranchChoice{b, branch.next(), branch.scenario(), branch.conclusion()};
    }
  }
  BranchChoice choice;
  choice.next_stage = stage.next();
  return choice;
}

}  // namespace jepalab::config
