// A metric history recorded from a real run with `jepa_train --metrics_csv` (rows
// "step,epoch,name,value" after a header), as the Series metrics_service would return.
#ifndef JEPALAB_COMMON_TESTING_RECORDED_HISTORY_H_
#define JEPALAB_COMMON_TESTING_RECORDED_HISTORY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/metrics.pb.h"

namespace jepalab::testing {

// One Series per metric name, points in file order. InvalidArgument naming the line when a row
// is malformed.
absl::StatusOr<std::vector<::jepalab::metrics::v1::Series>> LoadRecordedHistory(
    const std::string& path);

}  // namespace jepalab::testing

#endif  // JEPALAB_COMMON_TESTING_RECORDED_HISTORY_H_
