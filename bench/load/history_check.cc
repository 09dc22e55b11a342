#include "bench/load/history_check.h"

#include <set>
#include <utility>

namespace jepalab::load {

HistoryCheck& HistoryCheck::operator+=(const HistoryCheck& other) {
  expected += other.expected;
  stored += other.stored;
  lost += other.lost;
  duplicates += other.duplicates;
  wrong_value += other.wrong_value;
  unacknowledged += other.unacknowledged;
  unexpected += other.unexpected;
  return *this;
}

HistoryCheck CheckHistory(const SyntheticRun& run, int64_t acked_steps,
                          const metrics::v1::GetRunHistoryResponse& history) {
  HistoryCheck check;
  check.expected = run.PointsBefore(acked_steps);
  std::set<std::pair<std::string, int64_t>> seen;
  int64_t found = 0;  // distinct acknowledged points present
  for (const metrics::v1::Series& series : history.series()) {
    for (const metrics::v1::SeriesPoint& point : series.points()) {
      ++check.stored;
      if (!seen.emplace(series.name(), point.step()).second) {
        ++check.duplicates;
        continue;
      }
      if (point.step() < 0 || !run.Reports(series.name(), point.step())) {
        ++check.unexpected;
        continue;
      }
      if (point.value() != run.Value(series.name(), point.step())) ++check.wrong_value;
      if (point.step() >= acked_steps) {
        ++check.unacknowledged;
      } else {
        ++found;
      }
    }
  }
  check.lost = check.expected - found;
  return check;
}

}  // namespace jepalab::load
