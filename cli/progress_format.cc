#include "cli/progress_format.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/common.pb.h"

namespace jepalab::cli {

using ::jepalab::common::v1::RunState;
using ::jepalab::scheduler::v1::ExperimentState;

std::string FormatDuration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "--:--";
  const int64_t total = static_cast<int64_t>(std::llround(seconds));
  const int64_t h = total / 3600, m = (total % 3600) / 60, s = total % 60;
  return h > 0 ? absl::StrFormat("%d:%02d:%02d", h, m, s) : absl::StrFormat("%d:%02d", m, s);
}

std::string RunStateName(int state) {
  const std::string name = common::v1::RunState_Name(static_cast<RunState>(state));
  return name.rfind("RUN_STATE_", 0) == 0 ? name.substr(10) : name;
}

std::string ExperimentStateName(int state) {
  const std::string name = scheduler::v1::ExperimentState_Name(static_cast<ExperimentState>(state));
  return name.rfind("EXPERIMENT_STATE_", 0) == 0 ? name.substr(17) : name;
}

std::string FormatRunLine(const jepalab::scheduler::v1::RunRecord& run, int bar_width,
                          std::optional<double> loss) {
  const auto& p = run.progress();
  std::string line = absl::StrFormat("%-28s %-13s", run.run_id(), RunStateName(run.state()));
  if (bar_width > 0) {
    const double fraction =
        p.total_steps() > 0 ? std::clamp(static_cast<double>(p.step()) / p.total_steps(), 0.0, 1.0)
                            : 0.0;
    const int filled = static_cast<int>(fraction * bar_width);
    absl::StrAppend(&line, "[", std::string(filled, '#'), std::string(bar_width - filled, '.'),
                    "] ");
  }
  absl::StrAppend(&line, absl::StrFormat("step %d/%d", p.step(), p.total_steps()));
  if (p.total_epochs() > 0)
    absl::StrAppend(&line, absl::StrFormat("  epoch %d/%d", p.epoch(), p.total_epochs()));
  if (loss.has_value()) absl::StrAppend(&line, absl::StrFormat("  loss %.4f", *loss));
  if (p.steps_per_second() > 0)
    absl::StrAppend(&line, absl::StrFormat("  %.1f steps/s", p.steps_per_second()));
  if (run.state() == common::v1::RUN_STATE_RUNNING) {
    absl::StrAppend(&line, "  ETA ", FormatDuration(p.eta_seconds() > 0 ? p.eta_seconds() : -1));
  }
  if (!run.message().empty()) absl::StrAppend(&line, "  (", run.message(), ")");
  return line;
}

}  // namespace jepalab::cli
