#pragma once
// Who waits for which run to change: wait() registers here, the event feed
// follower wakes the waiters of each run it sees change.

#include "fluid/detail/notifier.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fluid::detail {

class RunWaiters {
 public:
  /// One wait() on one run: its notifier, registered until destroyed.
  class Watch {
   public:
    Watch(RunWaiters& waiters, std::string run_id);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    Notifier& changed() const noexcept { return *notifier_; }

   private:
    RunWaiters& waiters_;
    std::string run_id_;
    std::shared_ptr<Notifier> notifier_;
  };

  /// Wakes the waiters of `run_id` (cheap when nobody waits).
  void notify(const std::string& run_id);
  /// Wakes every waiter (the feed lost events: each rereads its run).
  void notify_all();
  /// Whether no wait() is registered (lock-free).
  bool empty() const noexcept { return count_.load(std::memory_order_relaxed) == 0; }

 private:
  struct Entry {
    std::shared_ptr<Notifier> notifier = std::make_shared<Notifier>();
    int watches = 0;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> by_run_;
  std::atomic<std::size_t> count_{0};
};

}  // namespace fluid::detail
