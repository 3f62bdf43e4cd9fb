#pragma once
/// @file
/// Listening to workers' state transitions.

#include "fluid/worker_state.hpp"

#include <functional>
#include <string>
#include <utility>

namespace fluid {

/// A worker moved from one state to another.
struct StateChange {
  std::string worker;  ///< the worker's name
  WorkerState from;    ///< equal to `to` in the first call, which tells the current state
  WorkerState to;
  std::string reason;  ///< "current state", "startup", "stop requested", or the stop reason
};

/// Called on every transition of a worker, in the order they happened, with
/// no lock of fluid's held: on the thread that makes it (the worker's
/// executor, or the thread calling gracefully_stop()), or, if another thread
/// is telling an earlier transition of the same worker at that moment, on
/// that thread, right after. A worker has not finished (wait_for_shutdown()
/// does not return) until its listeners have been told its last transition.
/// Keep it quick and thread-safe. Exceptions it throws are logged and ignored.
using StateListener = std::function<void(const StateChange&)>;

/// Keeps a listener subscribed; destroying it (or reset()) unsubscribes.
/// Movable, not copyable; safe to destroy on any thread, also inside the
/// listener. Once reset() has returned the listener is not called again (a
/// reset on another thread than the one calling it waits for that call).
class Subscription {
 public:
  Subscription() = default;
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
  Subscription& operator=(Subscription&& other) noexcept {
    if (this != &other) {
      reset();
      cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { reset(); }

  /// Unsubscribes now; later transitions are not reported.
  void reset() noexcept {
    if (auto cancel = std::exchange(cancel_, nullptr)) cancel();
  }
  /// True while subscribed.
  explicit operator bool() const noexcept { return static_cast<bool>(cancel_); }

 private:
  std::function<void()> cancel_;
};

}  // namespace fluid
