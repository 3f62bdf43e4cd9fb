#pragma once
// The shared state behind a Worker. Shared (not a plain member) because the
// worker's coroutine, its completion handler and cross-thread wake-ups may
// outlive the moment a waiter sees "stopped" and destroys the Worker.

#include "fluid/detail/notifier.hpp"
#include "fluid/worker.hpp"

#include "fluid/state_listener.hpp"

#include <boost/asio/cancellation_signal.hpp>

#include <array>
#include <cstdint>

#include <atomic>
#include <functional>
#include <vector>
#include <mutex>

namespace fluid {
namespace detail {

/// Who listens to a worker's transitions; allocated on first subscription.
struct Listeners {
  // Recursive: a listener may unsubscribe (or subscribe) from inside its call.
  std::recursive_mutex mutex;
  std::uint64_t next_id = 0;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<StateListener>>> entries;
};

struct WorkerCore {
  WorkerCore() { entered[0] = std::chrono::system_clock::now(); }

  std::atomic<WorkerState> state{WorkerState::init};
  /// Wakes whoever waits for readiness, a stop request or the end.
  Notifier changed;
  /// Emitted (terminal) on the worker's executor to force the stop.
  boost::asio::cancellation_signal cancel;

  mutable std::mutex mutex;  // guards everything below
  std::string name;          // fixed at startup()
  std::chrono::milliseconds grace{0};
  boost::asio::any_io_executor executor;  // tracked: holds the loop while the worker lives
  std::atomic<bool> ready{false};  // on_startup() completed (atomic: is_ready() reads it lock-free)
  bool finished = false;  // after_shutdown() returned; nothing touches the Worker any more
  bool forced = false;    // a terminal cancellation was emitted
  bool spawned = false;   // the worker's coroutine has begun: a forced stop may be emitted to it
  bool own_failure = false;  // the failure being carried is not a reaction to `forced`
  std::exception_ptr startup_error;
  std::optional<StopReason> reason;
  std::exception_ptr error;
  /// A group some of whose children were forced reports code 1 too.
  bool forced_child = false;
  /// When each state was entered (zero: not yet).
  std::array<std::chrono::system_clock::time_point, 5> entered{};
  std::shared_ptr<Listeners> listeners;
  /// Called once each when the worker has finished (a group's wake-up).
  std::vector<std::function<void()>> on_finished;

  bool is_finished() const {
    std::lock_guard lock(mutex);
    return finished;
  }
};

/// Records that the worker moved `from` -> `to` and tells its listeners.
void transition(WorkerCore& core, WorkerState from, WorkerState to, std::string_view reason);

/// Subscribes `listener` to `core`'s transitions, telling it the current state first.
Subscription subscribe(const std::shared_ptr<WorkerCore>& core, const std::string& name, StateListener listener);

/// Calls `observer` once the worker has finished (at once if it already has).
void observe_finish(WorkerCore& core, std::function<void()> observer);

/// Forces the stop: records it, then emits a terminal cancellation on the
/// worker's executor. Idempotent in effect; a repeat re-cancels a stuck cleanup.
void force_stop(const std::shared_ptr<WorkerCore>& core);

}  // namespace detail

/// Lets fluid's own classes (groups, serve) reach a worker's core.
struct WorkerAccess {
  static const std::shared_ptr<detail::WorkerCore>& core(Worker& worker) { return worker.core_; }
};

}  // namespace fluid
