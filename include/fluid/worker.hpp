#pragma once
/// @file
/// Worker: a long-running asynchronous component with a managed lifecycle.

#include "fluid/state_listener.hpp"
#include "fluid/task.hpp"
#include "fluid/worker_state.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fluid {

/// How a worker is named and how long it may take to stop.
struct WorkerOptions {
  /// The worker's name; "" derives it from the class name (SimpleWorker -> "simple_worker").
  std::string name;
  /// How long shutdown() waits for run() to return before cancelling it;
  /// nullopt reads env FLUID_STOPPING_GRACE_PERIOD (decimal seconds), else 10 s.
  std::optional<std::chrono::milliseconds> stopping_grace_period;
};

namespace detail {
struct WorkerCore;
class WorkerControl;
}  // namespace detail

struct ChildWorker;  // worker_tree.hpp

/// A component that runs until asked to stop, and can always be stopped.
///
/// Services are made of loops that must start in order, stop cleanly on
/// request, and still stop when they ignore the request. A Worker gives one
/// such loop a lifecycle: startup() runs on_startup() then run() in a
/// coroutine of its own; gracefully_stop() asks run() to return; shutdown()
/// asks, waits up to the grace period, then cancels run() (Asio terminal
/// cancellation). on_shutdown() runs on every exit path.
///
/// @warning Threading: a worker and its coroutines run on the executor that
/// awaited startup(). From other threads only gracefully_stop() (and the
/// read-only state queries) may be called.
class Worker {
 public:
  /// A worker in state init. Configuration is checked at startup().
  explicit Worker(WorkerOptions options = {});
  /// Catches a worker destroyed while started and not yet stopped: logs it and
  /// aborts (the coroutine would otherwise use a dead object).
  virtual ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// The current state; safe from any thread.
  WorkerState worker_state() const noexcept;
  /// The option's name, else the snake_case of the dynamic class name.
  std::string worker_name() const;
  /// How many workers this one stands for: 1 (a group: its children).
  virtual std::size_t num_workers() const;
  /// The workers this one stands for: {this} (a group: its children, in order).
  virtual std::vector<Worker*> workers();
  /// The children of a composite, owned and named (a group: in order, under
  /// the keys its status() uses); {} for a leaf. Prefer it to workers() in
  /// code that keeps the children across a suspension or another thread's
  /// restart of one (workers() gives raw pointers such a restart frees).
  /// A composite of your own overrides both.
  virtual std::vector<ChildWorker> children();

  /// True once startup() has been called (state is not init).
  bool has_started() const noexcept;
  /// True while running and not asked to stop: run() loops on this.
  bool is_running() const noexcept;
  /// True once on_startup() has completed and until a stop is requested:
  /// readiness, for a group: every child started.
  bool is_ready() const noexcept;
  /// True after gracefully_stop() until run() has returned.
  bool is_stopping() const noexcept;
  /// True once stopped or force_stopped.
  bool is_stopped() const noexcept;

  /// Asks run() to return: running -> stopping, anything else unchanged.
  /// Never blocks; safe from any thread and from an asio::signal_set handler
  /// (not from a raw POSIX signal handler: it takes a mutex).
  virtual void gracefully_stop();

  /// Starts the worker and returns once on_startup() has completed, so
  /// "started" means "ready".
  /// @throws WorkerStartError if the worker was already started, or retired
  ///         (retire_unstarted()).
  /// @throws FluidError for a bad grace period (option or environment).
  /// @throws whatever on_startup() threw (the worker's failure, as
  ///         wait_for_shutdown() reports it); the worker then ends stopped.
  /// @throws boost::system::system_error (operation_aborted) if a forced stop
  ///         cancelled on_startup(); the worker then ends force_stopped.
  [[nodiscard]] Task<> startup();

  /// Stops the worker: gracefully_stop(), wait up to the grace period, then
  /// cancel it (state force_stopped). Returns when the worker has stopped.
  /// Never throws run()'s failure (see wait_for_shutdown()). Returns at once
  /// on a worker never started; concurrent calls are safe.
  [[nodiscard]] Task<> shutdown();

  /// Waits until the worker has stopped, then rethrows what run() (or a hook)
  /// threw, to every waiter, also to one that starts waiting after the end.
  /// Returns at once on a worker never started.
  [[nodiscard]] Task<> wait_for_shutdown();

  /// {"state", "running", "stopping", "stopped", "state_since": {state: unix
  /// seconds entered}} and, once stopped, "stop_reason", "exit_code" and
  /// "error" (if it failed).
  virtual Task<nlohmann::json> status();

  /// Calls `listener` on every state transition of this worker (a group: of
  /// every worker in its tree, children added or restarted later included).
  /// A late subscriber is first told the current state (from == to).
  [[nodiscard]] virtual Subscription subscribe(StateListener listener);

  /// Sleeps up to `d`, ending early as soon as the worker is asked to stop.
  /// Returns is_running(): false tells the caller the sleep was cut short by a
  /// stop request (or that one had already come).
  [[nodiscard]] Task<bool> sleep_while_running(std::chrono::steady_clock::duration d);

  /// Tells a worker still in init that it will never be started: its group
  /// stopped first (a sibling failed to start, or the stop came before its
  /// turn). Layers that accept work close their inputs and account for what
  /// they held (on_worker_stopped()): a queue consumer counts and logs its
  /// messages as dropped and refuses new ones. The worker stays init and a
  /// later startup() throws WorkerStartError. Once; no effect on a worker
  /// that has started. A group calls it on the children it never started
  /// when it stops (and on all of them when it is retired itself). Call it
  /// where startup() would have been called.
  void retire_unstarted() noexcept;

  /// Completes once a stop has been requested: at once if the worker is
  /// stopping or stopped already, else when it leaves running. Lets run()
  /// race its work against the request:
  /// `co_await (serve_clients() || stop_requested());` (awaitable operators).
  /// Like any wait of the worker, a forced stop ends it with
  /// boost::asio::error::operation_aborted.
  [[nodiscard]] Task<> stop_requested();

  /// The grace period in force (fixed at startup(): option, env, 10 s).
  /// @throws FluidError before startup() if the option or env value is bad.
  std::chrono::milliseconds stopping_grace_period() const;
  /// Why the worker stopped; nullopt until it has.
  std::optional<StopReason> stop_reason() const;
  /// The exception that made the worker fail; null unless stop_reason() is failed.
  std::exception_ptr failure() const;
  /// The executor the worker runs on; empty before startup() and once the
  /// worker has finished (so a Worker may outlive its event loop).
  boost::asio::any_io_executor executor() const;

 protected:
  /// The worker's body. Loop while is_running() and return when it turns false.
  /// Runs on the worker's executor after on_startup(); a forced stop cancels
  /// its pending operation with boost::asio::error::operation_aborted.
  virtual Task<> run() = 0;
  /// Runs before run(), inside the worker's coroutine; startup() returns when
  /// it completes and rethrows what it throws. Default: nothing.
  virtual Task<> on_startup();
  /// Runs after run() on every exit path (clean, failed, forced, and after a
  /// failed on_startup()), so it can release what on_startup() opened. After
  /// a forced stop it runs with cancellation reset, so what it throws then
  /// (other than a re-cancel when stuck) is a failure of its own, reported as
  /// the worker's (code 2, state force_stopped). Default: nothing.
  virtual Task<> on_shutdown();
  /// Called exactly once per run, after on_shutdown(), with aio-fluid's reason
  /// and code ("normal shutdown" 0, "forced shutdown" 1, error message 2).
  /// An exception thrown here is logged and otherwise ignored. Default: nothing.
  virtual void after_shutdown(std::string_view reason, int code);
  /// For layers that accept work (queues): called once, to close inputs and
  /// account for what was left, when the worker has stopped (before
  /// after_shutdown(), on the worker's executor) or, for one never started,
  /// when it is retired (retire_unstarted(); has_started() is then false).
  /// Overrides must call the base.
  virtual void on_worker_stopped() noexcept;

 private:
  friend class detail::WorkerControl;  // fluid's own layers: a few named operations
  // The bottom frame of the worker's coroutine: launched as Asio's own
  // awaitable thread rather than through co_spawn (src/awaitable_thread.hpp).
  using Lifecycle =
      boost::asio::awaitable<boost::asio::detail::awaitable_thread_entry_point, boost::asio::any_io_executor>;
  // `hop`: the worker's executor is not the caller's (a strand of its own).
  Lifecycle lifecycle(std::shared_ptr<detail::WorkerCore> core, bool hop);
  Task<> run_on_shutdown(detail::WorkerCore& core);  // on_shutdown(), then finish()
  void finish(detail::WorkerCore& core, std::exception_ptr failure);

  std::shared_ptr<detail::WorkerCore> core_;  // the options too: a Worker is a vtable and this
};

}  // namespace fluid
