#pragma once
/// @file
/// An event-driven "wait until something changed, or a deadline" primitive.

#include "fluid/detail/mutex.hpp"
#include "fluid/task.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>

namespace fluid::detail {

/// Wakes coroutines waiting for a condition that another party changes, from
/// any thread, without polling.
///
/// A condition variable for coroutines: the waiter takes a ticket, checks its
/// condition, and waits with the ticket; a notify_all() that happened after the
/// ticket was taken makes the wait return at once, so no wake-up is lost.
/// Each waiting coroutine parks on a timer of its own executor, started and
/// cancelled under the notifier's mutex: notify_all() is safe from any thread,
/// and waiters may run on any executor, a multi-threaded one included.
class Notifier {
 public:
  using Clock = std::chrono::steady_clock;
  using Ticket = std::uint64_t;

  Notifier() = default;
  /// Lets go of the waiters still linked, so a waiting frame destroyed later
  /// (its loop torn down after this notifier's owner) does not touch it. A
  /// waiter that is still to be resumed does: outlive those.
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// The notification count now; pass it to wait() after checking the condition.
  Ticket ticket() const;

  /// Waits until a notify_all() later than `ticket`, or until `deadline`.
  /// Returns true when notified, false on timeout.
  /// @throws boost::system::system_error(operation_aborted) if the waiting
  ///         coroutine itself is cancelled.
  [[nodiscard]] Task<bool> wait(Ticket ticket, Clock::time_point deadline = Clock::time_point::max());

  /// Wakes every current waiter. Thread-safe, never blocks on a waiter.
  void notify_all();

  /// Waits until `condition()` holds or `deadline` passes; returns condition().
  template <class Condition>
  Task<bool> wait_until(Condition condition, Clock::time_point deadline = Clock::time_point::max()) {
    for (;;) {
      const Ticket seen = ticket();
      if (condition()) co_return true;
      // Named, not awaited inside the if: g++ 12 miscompiles that (GCC PR 106188).
      const bool notified = co_await wait(seen, deadline);
      if (!notified) co_return condition();
    }
  }

 private:
  // A waiting coroutine's timer, kept in its own frame (no allocation per
  // wait) and linked here while it waits.
  struct Waiter;
  void link(Waiter& waiter);    // under mutex_
  void unlink(Waiter& waiter);  // under mutex_

  mutable Mutex mutex_;
  Ticket notifications_ = 0;
  Waiter* waiters_ = nullptr;
};

/// The deadline `timeout` from now, saturating instead of overflowing.
Notifier::Clock::time_point deadline_after(Notifier::Clock::duration timeout);

}  // namespace fluid::detail
