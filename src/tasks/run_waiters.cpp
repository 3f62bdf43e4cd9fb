#include "tasks/run_waiters.hpp"

#include <vector>

namespace fluid::detail {

RunWaiters::Watch::Watch(RunWaiters& waiters, std::string run_id) : waiters_(waiters), run_id_(std::move(run_id)) {
  std::lock_guard lock(waiters_.mutex_);
  auto& entry = waiters_.by_run_[run_id_];
  ++entry.watches;
  notifier_ = entry.notifier;
  waiters_.count_.store(waiters_.by_run_.size(), std::memory_order_relaxed);
}

RunWaiters::Watch::~Watch() {
  std::lock_guard lock(waiters_.mutex_);
  const auto it = waiters_.by_run_.find(run_id_);
  if (it != waiters_.by_run_.end() && --it->second.watches == 0) waiters_.by_run_.erase(it);
  waiters_.count_.store(waiters_.by_run_.size(), std::memory_order_relaxed);
}

void RunWaiters::notify(const std::string& run_id) {
  if (empty()) return;
  std::shared_ptr<Notifier> notifier;
  {
    std::lock_guard lock(mutex_);
    const auto it = by_run_.find(run_id);
    if (it == by_run_.end()) return;
    notifier = it->second.notifier;
  }
  notifier->notify_all();
}

void RunWaiters::notify_all() {
  std::vector<std::shared_ptr<Notifier>> notifiers;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, entry] : by_run_) notifiers.push_back(entry.notifier);
  }
  for (auto& notifier : notifiers) notifier->notify_all();
}

}  // namespace fluid::detail
