#pragma once
/// @file
/// The clock a group's supervision reads: steady time, or manual time for tests.

#include "fluid/state_listener.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace fluid {

/// Where a group's supervision reads the time.
///
/// Restart intensity windows, backoff pauses and healthy uptimes are measured
/// on this clock, so a test can run them on virtual time (suture's getNow):
/// with a ManualClock, a ten-second backoff costs no wall time. Grace periods
/// are not supervision: they always run on steady time.
class SupervisionClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~SupervisionClock() = default;

  /// The time now on this clock. Thread-safe.
  virtual time_point now() const = 0;
  /// The steady_clock moment at which `at` of this clock comes by itself:
  /// `at` for steady time, never (max) for a clock that moves when told.
  virtual time_point steady_deadline(time_point at) const = 0;
  /// Calls `wake` (quick, thread-safe) each time the clock is moved; a steady
  /// clock never is. The group wakes this way to look at its backoffs again.
  [[nodiscard]] virtual Subscription on_moved(std::function<void()> wake) = 0;
};

/// std::chrono::steady_clock, the default.
std::shared_ptr<SupervisionClock> steady_supervision_clock();

/// Virtual time: stands still until advance() moves it.
class ManualClock final : public SupervisionClock {
 public:
  /// A clock reading `start`.
  explicit ManualClock(time_point start = time_point{} + std::chrono::hours(1));

  time_point now() const override;
  time_point steady_deadline(time_point at) const override;
  Subscription on_moved(std::function<void()> wake) override;

  /// Moves the clock forward by `by` and wakes the groups reading it.
  /// Thread-safe; the wake-ups run on the caller's thread, outside the clock's lock.
  void advance(std::chrono::steady_clock::duration by);

 private:
  struct Shared;  // with the subscriptions, which may outlive the clock
  std::shared_ptr<Shared> shared_;
};

}  // namespace fluid
