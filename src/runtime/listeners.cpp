#include "runtime/listeners.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"

#include <algorithm>
#include <utility>

namespace fluid::detail {

struct Listeners::Entry {
  Entry(StateListener listener, std::uint64_t first) : listener(std::move(listener)), first(first) {}
  StateListener listener;
  // Its current state's place: what was queued before is in that state
  // already (subscribed from a listener, while earlier changes wait).
  std::uint64_t first;
  bool active = true;  // false once unsubscribed
};

void Listeners::queue(StateChange change) { queue_.push_back({std::move(change), queued_++, nullptr}); }

std::shared_ptr<Listeners::Entry> Listeners::add(StateListener listener, StateChange current) {
  auto entry = std::make_shared<Entry>(std::move(listener), queued_);
  entries_.push_back(entry);
  queue_.push_back({std::move(current), queued_++, entry});
  return entry;
}

void Listeners::remove(const std::shared_ptr<Entry>& entry, Lock& lock) {
  entry->active = false;
  std::erase(entries_, entry);
  wait_for_teller(lock);
}

void Listeners::wait_for_teller(Lock& lock) {
  const auto self = std::this_thread::get_id();
  while (teller_ != std::thread::id{} && teller_ != self) {
    // Read under the lock: the teller counts under it too, so the wait
    // below returns at once if it finished in between.
    const auto seen = told_.load(std::memory_order_relaxed);
    lock.unlock();
    told_.wait(seen, std::memory_order_relaxed);
    lock.lock();
  }
}

void Listeners::tell(Lock& lock, bool until_told) {
  if (teller_ != std::thread::id{}) {
    if (until_told) wait_for_teller(lock);
    return;  // the teller (maybe this thread, further up) tells ours too
  }
  teller_ = std::this_thread::get_id();
  struct Done {  // however telling ends, the next one may tell and waiters wake
    Listeners& self;
    Lock& lock;
    ~Done() {
      if (!lock.owns_lock()) lock.lock();
      self.teller_ = {};
      self.told_.fetch_add(1, std::memory_order_relaxed);
      self.told_.notify_all();
    }
  } done{*this, lock};
  while (!queue_.empty()) {
    const auto batch = std::exchange(queue_, {});
    for (const auto& pending : batch) tell_one(lock, pending);
  }
}

void Listeners::tell_one(Lock& lock, const Pending& pending) {
  // A copy: a listener may subscribe or unsubscribe while we call it.
  const auto targets = pending.only ? std::vector{pending.only} : entries_;
  for (const auto& target : targets) {
    if (!target->active || target->first > pending.sequence) continue;
    lock.unlock();
    try {
      target->listener(pending.change);
    } catch (...) {
      logger()->error("{}: a state listener threw: {}", pending.change.worker, error_message(std::current_exception()));
    }
    lock.lock();
  }
}

}  // namespace fluid::detail
