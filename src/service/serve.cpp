#include "fluid/serve.hpp"

#include "fluid/config.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/worker_tree.hpp"
#include "runtime/event_loop.hpp"
#include "runtime/worker_control.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace fluid {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

struct Resolved {
  std::size_t threads = 1;
  std::optional<std::chrono::milliseconds> startup_timeout;
  std::optional<std::chrono::milliseconds> shutdown_timeout;
};

Resolved resolve(const ServeOptions& options) {
  Resolved out;
  if (options.threads) {
    if (*options.threads == 0) throw FluidError("serve: threads must be at least 1, got 0");
    out.threads = *options.threads;
  } else if (auto text = env("FLUID_SERVE_THREADS")) {
    out.threads = parse_thread_count(*text, "FLUID_SERVE_THREADS");
  }
  auto duration = [](const std::optional<std::chrono::milliseconds>& option, const char* variable, const char* what) {
    if (option) {
      if (option->count() < 0) throw FluidError(std::string("serve: ") + what + " must not be negative");
      return option;
    }
    if (auto text = env(variable)) return std::optional(parse_seconds(*text, variable));
    return std::optional<std::chrono::milliseconds>{};
  };
  out.startup_timeout = duration(options.startup_timeout, "FLUID_SERVE_STARTUP_TIMEOUT", "startup_timeout");
  out.shutdown_timeout = duration(options.shutdown_timeout, "FLUID_SERVE_SHUTDOWN_TIMEOUT", "shutdown_timeout");
  return out;
}

const char* signal_name(int number) {
  switch (number) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "signal";
  }
}

/// The report's line for one worker of the tree, if it did not stop cleanly.
/// A group's failure is one of its children's: reported there, once.
std::optional<WorkerOutcome> outcome_of(const TreeWorker& node, std::string_view forced_by) {
  auto& worker = *node.worker;
  const bool forced = worker.worker_state() == WorkerState::force_stopped;
  if (worker.stop_reason() == StopReason::failed && (forced || !node.group)) {
    return WorkerOutcome{node.path, StopReason::failed, error_message(worker.failure())};
  }
  if (!forced) return std::nullopt;
  const auto grace = std::to_string(worker.stopping_grace_period().count()) + "ms";
  return WorkerOutcome{node.path, StopReason::forced,
                       forced_by.empty() ? "did not stop within its grace period of " + grace
                                         : std::string(forced_by) + " (its grace period: " + grace + ")"};
}

void log_report(Worker& root, std::string_view forced_by, const std::exception_ptr& startup_error = nullptr) {
  const auto report = shutdown_report(root, forced_by);
  if (report.empty() && startup_error) {
    logger()->error("shutdown report: {} did not start: {}", root.worker_name(), error_message(startup_error));
    return;
  }
  if (report.empty()) {
    logger()->info("shutdown report: every worker stopped cleanly");
    return;
  }
  logger()->warn("shutdown report: {} worker(s) did not stop cleanly", report.size());
  for (const auto& line : report) {
    logger()->warn("  {}: {}: {}", line.path, to_string(line.reason), line.detail);
  }
}

int exit_code_of(Worker& root) {
  const auto reason = root.stop_reason();
  if (!reason) return exit_failed;
  return exit_code(*reason);
}

/// A repeat closer than this to the first signal is taken as the same request.
constexpr std::chrono::milliseconds duplicate_signal_window{100};

/// The signals serve() listens to, shared by serve_root() and the coroutine
/// handling them: whichever ends last frees it. Both run on one strand (a
/// signal_set is not thread-safe), so `closed` needs no lock.
struct SignalWatch {
  explicit SignalWatch(const asio::any_io_executor& executor) : signals(executor) {}
  asio::signal_set signals;
  bool closed = false;  // serve_root() is done: stop listening
};

/// Reacts to SIGINT/SIGTERM: the first asks for a graceful stop, the next force it.
Task<> handle_signals(std::shared_ptr<SignalWatch> watch, Worker& root,
                      std::optional<std::chrono::milliseconds> shutdown_timeout,
                      std::shared_ptr<std::string> forced_by) {
  auto executor = co_await asio::this_coro::executor;
  std::optional<std::chrono::steady_clock::time_point> first_at;
  for (;;) {
    const auto [error, number] = co_await watch->signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error || watch->closed) co_return;
    const auto now = std::chrono::steady_clock::now();
    if (first_at && now - *first_at < duplicate_signal_window) {
      // timeout(1) and some supervisors signal the process and its group:
      // one request arriving twice must not escalate to a forced stop.
      logger()->debug("ignoring {} {}ms after the first one", signal_name(number),
                      std::chrono::duration_cast<std::chrono::milliseconds>(now - *first_at).count());
      continue;
    }
    if (!first_at) {
      first_at = now;
      logger()->info("received {}: stopping {} gracefully (send it again to force)", signal_name(number),
                     root.worker_name());
      asio::co_spawn(executor, root.shutdown(), asio::detached);
      if (shutdown_timeout) {
        asio::co_spawn(
            executor,
            [&root, timeout = *shutdown_timeout, forced_by]() -> Task<> {
              asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
              co_await (timer.async_wait(asio::use_awaitable) || root.wait_for_shutdown());
              if (!root.is_stopped()) {
                logger()->warn("{} still running {}ms after the stop signal: forcing it", root.worker_name(),
                               timeout.count());
                *forced_by = "forced after the shutdown timeout of " + std::to_string(timeout.count()) + "ms";
                detail::WorkerControl(root).force_stop();
              }
            },
            asio::detached);
      }
    } else {
      logger()->warn("received {} again: forcing {} to stop now", signal_name(number), root.worker_name());
      if (forced_by->empty()) *forced_by = std::string("forced by a second ") + signal_name(number);
      detail::WorkerControl(root).force_stop();
    }
  }
}

struct StartupRace {
  explicit StartupRace(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  bool completed = false;
  std::exception_ptr error;
};

Task<> start_root(Worker& root, std::optional<std::chrono::milliseconds> startup_timeout) {
  if (!startup_timeout) {
    co_await root.startup();
    co_return;
  }
  const auto executor = co_await asio::this_coro::executor;
  auto race = std::make_shared<StartupRace>(executor);
  asio::co_spawn(executor, root.startup(), [race](std::exception_ptr e) {
    race->completed = true;
    race->error = e;
    race->timer.cancel();
  });
  race->timer.expires_after(*startup_timeout);
  co_await race->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  const bool timed_out = !race->completed;
  if (timed_out) {
    // Cancel the half-started tree and wait for startup() to unwind, so no
    // coroutine outlives the loop.
    if (root.has_started()) detail::WorkerControl(root).force_stop();
    race->timer.expires_at(asio::steady_timer::time_point::max());
    co_await race->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (timed_out) {
    throw FluidError(root.worker_name() + " was not ready within the startup timeout of " +
                     std::to_string(startup_timeout->count()) + "ms");
  }
  if (race->error) std::rethrow_exception(race->error);
}

Task<int> serve_on_strand(Worker& root, Resolved options, bool handle) {
  auto executor = co_await asio::this_coro::executor;
  auto watch = std::make_shared<SignalWatch>(executor);
  // Stops the signal handling however this coroutine ends. On the strand,
  // so never at the same time as the handler's own use of the signal set.
  struct Close {
    std::shared_ptr<SignalWatch> watch;
    ~Close() {
      watch->closed = true;
      watch->signals.cancel();
    }
  } close{watch};
  auto forced_by = std::make_shared<std::string>();  // why serve() forced the root, if it did
  if (handle) {
    watch->signals.add(SIGINT);
    watch->signals.add(SIGTERM);
    asio::co_spawn(executor, handle_signals(watch, root, options.shutdown_timeout, forced_by), asio::detached);
  }
  std::exception_ptr startup_error;
  try {
    co_await start_root(root, options.startup_timeout);
  } catch (...) {
    startup_error = std::current_exception();
  }
  if (startup_error) {
    logger()->error("{} failed to start: {}", root.worker_name(), error_message(startup_error));
    co_await root.shutdown();
    log_report(root, *forced_by, startup_error);
    co_return exit_failed;
  }
  try {
    co_await root.wait_for_shutdown();
  } catch (...) {  // reported below through the tree
  }
  log_report(root, *forced_by);
  co_return exit_code_of(root);
}

// On a multi-threaded loop the signal handler and serve_on_strand() would
// otherwise run at once: one re-arming the signal set while the other
// cancels and frees it.
Task<int> serve_root(Worker& root, Resolved options, bool handle) {
  auto strand = asio::make_strand(co_await asio::this_coro::executor);
  co_return co_await asio::co_spawn(strand, serve_on_strand(root, std::move(options), handle), asio::use_awaitable);
}

}  // namespace

std::vector<WorkerOutcome> shutdown_report(Worker& root, std::string_view forced_by) {
  std::vector<WorkerOutcome> out;
  for (const auto& node : worker_tree(root)) {
    if (auto line = outcome_of(node, forced_by)) out.push_back(std::move(*line));
  }
  return out;
}

namespace {

/// serve()'s answer to an exception escaping a handler: the tree is in an
/// unknown state, so it is forced (every on_shutdown() still runs) and the
/// process exits 2 once it has stopped, never with the root still running.
class EscapedErrors {
 public:
  explicit EscapedErrors(Worker& root) : root_(root) {}

  void operator()(const std::exception_ptr& error) {
    const bool first = !seen_.exchange(true);
    logger()->error("{}: an exception escaped a handler on the event loop: {}{}", root_.worker_name(),
                    error_message(error), first ? "; forcing it to stop" : "");
    detail::WorkerControl(root_).force_stop();
  }

  bool seen() const noexcept { return seen_.load(); }

 private:
  Worker& root_;
  std::atomic<bool> seen_{false};
};

}  // namespace

int serve(Worker& root, ServeOptions options) {
  Resolved resolved;
  try {
    resolved = resolve(options);
  } catch (const std::exception& e) {
    logger()->error("{}: bad configuration: {}", root.worker_name(), e.what());
    return exit_failed;
  }
  EscapedErrors escaped(root);
  std::optional<int> code;
  try {
    detail::run_event_loop(detail::store_result(serve_root(root, resolved, options.handle_signals), code),
                           resolved.threads, std::ref(escaped));
  } catch (...) {
    logger()->error("{}: {}", root.worker_name(), error_message(std::current_exception()));
    return exit_failed;
  }
  return escaped.seen() || !code ? exit_failed : *code;
}

}  // namespace fluid
