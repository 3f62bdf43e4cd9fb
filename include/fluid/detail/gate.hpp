#pragma once
/// @file
/// Gate: count what is in flight, close to new work, await the drain.

#include "fluid/detail/notifier.hpp"
#include "fluid/errors.hpp"
#include "fluid/task.hpp"

#include <cstddef>
#include <mutex>
#include <optional>
#include <utility>

namespace fluid::detail {

/// Work was offered to a Gate that is closed (its owner is stopping).
struct GateClosedError : FluidError {
  using FluidError::FluidError;
};

/// Lets an owner stop accepting work and then wait until the work it already
/// accepted has finished, without polling.
///
/// Stopping a server or a group is always "stop accepting, then drain": new
/// connections or children must be refused from the moment the stop begins,
/// while those already admitted get to finish. A Gate counts them: each one
/// enters (try_enter() / enter(), or a Pass that leaves when destroyed) and
/// leaves when done; close() refuses further entries; drained() completes
/// once nothing is inside (Seastar's gate, cppcoro's async_scope).
///
/// Thread-safe: enter, leave, close and wait from any thread and executor.
/// Waiters are woken through a Notifier, never by polling.
class Gate {
 public:
  using Clock = Notifier::Clock;

  /// One entry of the gate, left when destroyed (or by release()). Move-only.
  class Pass {
   public:
    Pass(Pass&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Pass& operator=(Pass&& other) noexcept {
      if (this != &other) {
        release();
        gate_ = std::exchange(other.gate_, nullptr);
      }
      return *this;
    }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    ~Pass() { release(); }

    /// Leaves the gate now (once; later calls do nothing).
    void release() noexcept {
      if (gate_ != nullptr) std::exchange(gate_, nullptr)->leave();
    }

   private:
    friend class Gate;
    explicit Pass(Gate& gate) noexcept : gate_(&gate) {}
    Gate* gate_;
  };

  Gate() = default;
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  /// Counts one more entry, unless the gate is closed; false then.
  [[nodiscard]] bool try_enter() noexcept;
  /// Counts one more entry.
  /// @throws GateClosedError if the gate is closed.
  void enter();
  /// Ends one entry; the last one out of a gate wakes drained() waiters.
  /// Call once per successful entry.
  void leave() noexcept;

  /// try_enter() as a Pass that leaves on destruction; nullopt if closed.
  [[nodiscard]] std::optional<Pass> try_hold() noexcept;
  /// enter() as a Pass that leaves on destruction.
  /// @throws GateClosedError if the gate is closed.
  [[nodiscard]] Pass hold();

  /// Refuses every later entry; those inside stay until they leave.
  /// Idempotent; safe from any thread.
  void close() noexcept;
  /// True once close() was called.
  bool is_closed() const noexcept;
  /// How many entries are inside now.
  std::size_t count() const noexcept;

  /// Waits until nothing is inside (closed or not) or `deadline` passes;
  /// returns true if drained. On a closed gate a true result is final.
  /// @throws boost::system::system_error(operation_aborted) if the waiting
  ///         coroutine is cancelled.
  [[nodiscard]] Task<bool> drained(Clock::time_point deadline = Clock::time_point::max());

  /// close(), then waits until nothing is inside.
  [[nodiscard]] Task<> close_and_drain();

 private:
  mutable std::mutex mutex_;
  std::size_t count_ = 0;  // under mutex_
  bool closed_ = false;    // under mutex_
  Notifier emptied_;       // notified each time count_ reaches 0
};

}  // namespace fluid::detail
