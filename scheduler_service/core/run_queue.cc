#include "scheduler_service/core/run_queue.h"

#include <algorithm>

namespace jepalab::scheduler {

void RunQueue::Push(const std::string& run_id, int priority, const std::string& group) {
  if (where_.count(run_id) > 0) return;
  Level& level = levels_[priority];
  std::deque<std::string>& runs = level.groups[group];
  if (runs.empty()) level.turns.push_back(group);
  runs.push_back(run_id);
  where_[run_id] = {priority, group};
}

void RunQueue::PushFront(const std::string& run_id, int priority, const std::string& group) {
  if (where_.count(run_id) > 0) return;
  Level& level = levels_[priority];
  std::deque<std::string>& runs = level.groups[group];
  level.turns.erase(std::remove(level.turns.begin(), level.turns.end(), group), level.turns.end());
  level.turns.push_front(group);
  runs.push_front(run_id);
  where_[run_id] = {priority, group};
}

std::optional<std::string> RunQueue::Pop() {
  if (levels_.empty()) return std::nullopt;
  auto top = levels_.begin();
  Level& level = top->second;
  const std::string group = level.turns.front();
  level.turns.pop_front();
  std::deque<std::string>& runs = level.groups[group];
  std::string run_id = runs.front();
  runs.pop_front();
  if (runs.empty()) {
    level.groups.erase(group);
  } else {
    level.turns.push_back(group);  // its next run waits for the other groups' turns
  }
  if (level.turns.empty()) levels_.erase(top);
  where_.erase(run_id);
  return run_id;
}

bool RunQueue::Remove(const std::string& run_id) {
  auto it = where_.find(run_id);
  if (it == where_.end()) return false;
  const auto [priority, group] = it->second;
  where_.erase(it);
  Level& level = levels_[priority];
  std::deque<std::string>& runs = level.groups[group];
  runs.erase(std::remove(runs.begin(), runs.end(), run_id), runs.end());
  if (runs.empty()) {
    level.groups.erase(group);
    level.turns.erase(std::remove(level.turns.begin(), level.turns.end(), group),
                      level.turns.end());
  }
  if (level.turns.empty()) levels_.erase(priority);
  return true;
}

}  // namespace jepalab::scheduler
