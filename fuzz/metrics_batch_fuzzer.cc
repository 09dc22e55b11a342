// Fuzzes metric batch ingestion: the bytes parsed as a ReportMetricsRequest (what one message
// of the ReportMetrics stream carries), ValidateMetricPoints, then MetricsCore::ReportMetrics
// on a fresh in-memory SQLite store with Prometheus families and the collapse monitor.
// Invariants: ReportMetrics accepts exactly the batches validation accepts, counts every
// point, and what it accepted can be read back.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "metrics_service/core/metrics_core.h"
#include "metrics_service/core/prometheus_metrics.h"
#include "metrics_service/core/run_store.h"
#include "prometheus/registry.h"
#include "proto/metrics.pb.h"

namespace {

class FixedClock : public jepalab::common::Clock {
 public:
  int64_t NowUnixMillis() const override { return 1'700'000'000'000; }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Arbitrary bytes make protobuf log every invalid UTF-8 string it parses; expected here,
  // and the logging would dominate the run.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  jepalab::metrics::v1::ReportMetricsRequest batch;
  if (!batch.ParseFromArray(data, static_cast<int>(size))) return 0;
  const absl::Status valid = jepalab::metrics::ValidateMetricPoints(batch.points());

  auto store = jepalab::metrics::SqliteRunStore::Create(":memory:");
  FUZZ_CHECK(store.ok(), store.status().ToString());
  prometheus::Registry registry;
  jepalab::metrics::PrometheusMetrics metrics(registry, {});
  FixedClock clock;
  jepalab::metrics::MetricsCore core(store->get(), &metrics, &clock);
  const auto accepted = core.ReportMetrics(batch);
  FUZZ_CHECK(accepted.ok() == valid.ok(), valid.ToString() + " / " + accepted.status().ToString());
  if (!accepted.ok()) {
    FUZZ_CHECK(accepted.status().code() == absl::StatusCode::kInvalidArgument,
               accepted.status().ToString());
    return 0;
  }
  FUZZ_CHECK(*accepted == batch.points_size(), "every point counts");
  (void)registry.Collect();  // the /metrics scrape must cope with whatever was accepted
  for (const auto& point : batch.points()) {
    jepalab::metrics::v1::GetRunHistoryRequest request;
    request.set_run_id(point.run_id());
    request.add_names(point.name());
    const auto history = core.GetRunHistory(request);
    FUZZ_CHECK(history.ok(), history.status().ToString());
    FUZZ_CHECK(history->series_size() == 1 && history->series(0).points_size() > 0,
               point.ShortDebugString());
  }
  return 0;
}
