// The output of `jepalab compare RUN...`: each run's metric summaries side by side, then the
// config diff (only the keys whose resolved values differ between the runs). Pure.
#ifndef JEPALAB_CLI_COMPARE_FORMAT_H_
#define JEPALAB_CLI_COMPARE_FORMAT_H_

#include <string>

#include "proto/metrics.pb.h"

namespace jepalab::cli {

std::string FormatComparison(const ::jepalab::metrics::v1::CompareRunsResponse& response);

// Just the config diff section of FormatComparison.
std::string FormatComparisonConfigDiff(const ::jepalab::metrics::v1::CompareRunsResponse& response);

}  // namespace jepalab::cli

#endif  // JEPALAB_CLI_COMPARE_FORMAT_H_
