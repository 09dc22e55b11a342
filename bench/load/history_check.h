// After the load: reads every run's whole history back (GetRunHistory, no downsampling) and
// compares it with what the streams had acknowledged: lost, duplicated, wrong-valued and
// unexpected points.
#ifndef JEPALAB_BENCH_LOAD_HISTORY_CHECK_H_
#define JEPALAB_BENCH_LOAD_HISTORY_CHECK_H_

#include <cstdint>
#include <string>

#include "bench/load/synthetic_run.h"
#include "proto/metrics.pb.h"

namespace jepalab::load {

struct HistoryCheck {
  int64_t expected = 0;    // acknowledged points
  int64_t stored = 0;      // points in the history
  int64_t lost = 0;        // acknowledged but not stored
  int64_t duplicates = 0;  // a (name, step) stored more than once
  int64_t wrong_value = 0;
  int64_t unacknowledged = 0;  // stored beyond the acknowledged steps (a failed stream's)
  int64_t unexpected = 0;      // a name the run never reports at that step

  bool Clean() const { return lost == 0 && duplicates == 0 && wrong_value == 0 && unexpected == 0; }
  HistoryCheck& operator+=(const HistoryCheck& other);
};

// `history` is run.run_id()'s full history; steps [0, acked_steps) were acknowledged.
HistoryCheck CheckHistory(const SyntheticRun& run, int64_t acked_steps,
                          const metrics::v1::GetRunHistoryResponse& history);

}  // namespace jepalab::load

#endif  // JEPALAB_BENCH_LOAD_HISTORY_CHECK_H_
