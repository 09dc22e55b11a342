// Text rendering of run progress for `jepalab watch`: a bar for terminals, plain lines for logs.
#ifndef JEPALAB_CLI_PROGRESS_FORMAT_H_
#define JEPALAB_CLI_PROGRESS_FORMAT_H_

#include <optional>
#include <string>

#include "proto/scheduler.pb.h"

namespace jepalab::cli {

// "h:mm:ss" (or "m:ss" under an hour); "--:--" when negative or unknown.
std::string FormatDuration(double seconds);

// One line for a run: id, state, bar (when `bar_width` > 0), step/total, epoch, `loss` (its
// latest loss/total from metrics_service; omitted when unset), speed, ETA.
std::string FormatRunLine(const jepalab::scheduler::v1::RunRecord& run, int bar_width,
                          std::optional<double> loss = std::nullopt);

// Short state names: QUEUED, RUNNING, SUCCEEDED, ...
std::string RunStateName(int state);
std::string ExperimentStateName(int state);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_PROGRESS_FORMAT_H_
