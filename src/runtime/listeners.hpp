#pragma once
// The listeners of one worker's transitions, told in the order the
// transitions happened whatever threads make them, with no lock held while
// a listener runs.

#include "fluid/detail/mutex.hpp"
#include "fluid/state_listener.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fluid::detail {

/// Every member is guarded by the owner's mutex (the worker core's), the one
/// the state changes under: a transition is queued in the same critical
/// section that makes it, so the queue's order is the order they happened.
/// One thread at a time (the teller) empties the queue, calling listeners
/// with the mutex released; a transition made meanwhile on another thread is
/// queued and told by the teller, after the ones before it.
class Listeners {
 public:
  struct Entry;
  using Lock = std::unique_lock<Mutex>;

  /// Queues `change` for every listener subscribed now.
  void queue(StateChange change);
  /// Subscribes `listener`, queuing `current` (the current state) for it alone.
  std::shared_ptr<Entry> add(StateListener listener, StateChange current);
  /// Unsubscribes `entry`. Once it returns the listener is not called again:
  /// it waits for a teller on another thread to finish (one telling on this
  /// thread, a listener unsubscribing itself, skips it from now on).
  void remove(const std::shared_ptr<Entry>& entry, Lock& lock);
  /// Tells the queued changes, unless another thread is telling them; then,
  /// with `until_told`, waits until it has (all queued so far are told when
  /// this returns). `lock` holds the owner's mutex; released while telling.
  void tell(Lock& lock, bool until_told);

 private:
  struct Pending {
    StateChange change;
    std::uint64_t sequence;       // its place in the order of queuing
    std::shared_ptr<Entry> only;  // a new subscriber's current state; null: every listener
  };
  void tell_one(Lock& lock, const Pending& pending);
  void wait_for_teller(Lock& lock);

  std::vector<std::shared_ptr<Entry>> entries_;
  std::vector<Pending> queue_;
  std::uint64_t queued_ = 0;      // sequence of the next Pending
  std::thread::id teller_;  // none: nobody is telling
  // Counts the tellings finished, to wait on: a word, where a
  // condition_variable_any is 64 bytes and allocates a mutex of its own.
  std::atomic<std::uint32_t> told_{0};
};

}  // namespace fluid::detail
