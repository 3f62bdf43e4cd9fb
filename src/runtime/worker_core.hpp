#pragma once
// The shared state behind a Worker, private to worker.cpp (fluid's other
// layers use worker_control.hpp). Shared (not a plain member) because the
// worker's coroutine, its completion handler and cross-thread wake-ups may
// outlive the moment a waiter sees "stopped" and destroys the Worker.

#include "fluid/detail/mutex.hpp"
#include "fluid/detail/notifier.hpp"
#include "fluid/state_listener.hpp"
#include "fluid/worker.hpp"
#include "runtime/listeners.hpp"
#include "runtime/worker_control.hpp"

#include <boost/asio/cancellation_signal.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace fluid::detail {

/// Where a worker's run stands and what it came to: one value, guarded by
/// the core's mutex.
struct Outcome {
  bool spawned : 1 = false;       // the coroutine has begun: a forced stop may be emitted to it
  bool ready : 1 = false;         // on_startup() completed (and stays set through the stop)
  bool forced : 1 = false;        // a terminal cancellation was requested
  bool own_failure : 1 = false;   // the failure being carried is not a reaction to `forced`
  bool forced_child : 1 = false;  // a group some of whose children were forced: reason forced
  bool finished : 1 = false;      // after_shutdown() returned; nothing touches the Worker any more
  bool retired : 1 = false;       // never started, and never will be (retire_unstarted())
  bool startup_failed : 1 = false;  // on_startup() threw (`error` holds it until finished)
  StopReason reason = StopReason::normal;  // meaningful once finished
  // The failure once finished with reason failed; before that, the one
  // carried to the end: what on_startup() or run() threw. failure() is the
  // one to read.
  std::exception_ptr error;

  /// The worker's failure: null unless it finished failed.
  std::exception_ptr failure() const { return finished && reason == StopReason::failed ? error : nullptr; }
};

struct WorkerCore {
  explicit WorkerCore(WorkerOptions options)
      : name(std::move(options.name)), grace(options.stopping_grace_period) {
    entered[0] = std::chrono::system_clock::now();
  }

  std::atomic<WorkerState> state{WorkerState::init};
  // One word, beside the state in what would be padding: a million workers
  // hold one each. Guards everything from `name` on.
  mutable Mutex mutex;
  /// Wakes whoever waits for readiness, a stop request or the end.
  Notifier changed;
  /// Emitted (terminal) on the worker's executor to force the stop.
  boost::asio::cancellation_signal cancel;

  std::string name;     // the option's, else set at startup() (the class name's)
  // Before startup(), the option (nullopt: the environment's, else 10 s);
  // from startup() on, the grace period in force.
  std::optional<std::chrono::milliseconds> grace;
  boost::asio::any_io_executor executor;  // tracked: holds the loop while the worker lives
  Outcome outcome;
  /// When each state was entered (zero: not yet).
  std::array<std::chrono::system_clock::time_point, 5> entered{};
  std::unique_ptr<Listeners> listeners;  // made on the first subscription
  std::weak_ptr<FinishObserver> on_finished;
  // Its groups', under their locks (atomic: a worker may be added to two
  // groups, on two threads): see WorkerControl::group_slot().
  std::atomic<std::uint32_t> group_slot{WorkerControl::no_slot};
  std::atomic<std::uint16_t> groups{0};

  bool is_finished() const noexcept {
    std::lock_guard lock(mutex);
    return outcome.finished;
  }
  bool has_been_ready() const noexcept {
    std::lock_guard lock(mutex);
    return outcome.ready;
  }
};

/// Under core.mutex: moves the worker to `to`, notes when, and queues the
/// transition for its listeners. True if there are listeners to tell.
bool enter_state(WorkerCore& core, WorkerState to, std::string_view reason);

/// Tells the listeners the transitions queued (Listeners::tell), not under core.mutex.
void tell_listeners(WorkerCore& core, bool until_told);

/// Subscribes `listener` to `core`'s transitions, telling it the current state first.
Subscription subscribe(const std::shared_ptr<WorkerCore>& core, const std::string& name, StateListener listener);

/// Forces the stop: records it, then emits a terminal cancellation on the
/// worker's executor. Idempotent in effect; a repeat re-cancels a stuck cleanup.
void force_stop(const std::shared_ptr<WorkerCore>& core);

}  // namespace fluid::detail
