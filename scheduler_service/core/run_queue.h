// The queue of runs waiting for a trainer: highest priority first; within one priority, fair
// between groups (a sweep, or a single experiment), taking turns so that a 100-run sweep does not
// starve an experiment submitted after it; first in, first out within a group. Pure data
// structure, not thread-safe (the scheduler holds its lock).
#ifndef JEPALAB_SCHEDULER_SERVICE_CORE_RUN_QUEUE_H_
#define JEPALAB_SCHEDULER_SERVICE_CORE_RUN_QUEUE_H_

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace jepalab::scheduler {

class RunQueue {
 public:
  // Queues `run_id` last in its group; a new group takes its turn after the waiting ones.
  void Push(const std::string& run_id, int priority, const std::string& group);
  // Queues `run_id` first in its group and its group first in line (a run offered to the
  // trainers and not taken, or retried, keeps its place).
  void PushFront(const std::string& run_id, int priority, const std::string& group);
  // The next run to offer, removed; nullopt when empty.
  std::optional<std::string> Pop();
  // Removes a queued run; false if it is not queued.
  bool Remove(const std::string& run_id);

  bool empty() const { return where_.empty(); }
  size_t size() const { return where_.size(); }

 private:
  // One priority level: its groups in turn order (front = next to serve), and each group's runs.
  struct Level {
    std::deque<std::string> turns;
    std::map<std::string, std::deque<std::string>> groups;
  };

  // Levels by priority, highest first.
  std::map<int, Level, std::greater<int>> levels_;
  std::map<std::string, std::pair<int, std::string>> where_;  // run id -> (priority, group)
};

}  // namespace jepalab::scheduler

#endif  // JEPALAB_SCHEDULER_SERVICE_CORE_RUN_QUEUE_H_
