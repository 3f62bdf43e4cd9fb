#include "fluid/serve.hpp"

#include "fluid/config.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/state_listener.hpp"
#include "runtime/event_loop.hpp"
#include "service/serve_signals.hpp"
#include "service/shutdown_report.hpp"
#include "service/timed.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <csignal>
#include <functional>

namespace fluid {

namespace asio = boost::asio;

namespace {

std::optional<std::chrono::milliseconds> resolve_duration(const std::optional<std::chrono::milliseconds>& option,
                                                          const char* variable, const char* what) {
  if (option) {
    if (option->count() < 0) throw FluidError(std::string("serve: ") + what + " must not be negative");
    return option;
  }
  if (auto text = env(variable)) return parse_seconds(*text, variable);
  return std::nullopt;
}

detail::ServeSettings resolve(const ServeOptions& options) {
  detail::ServeSettings out;
  out.handle_signals = options.handle_signals;
  out.reload = options.reload;
  if (options.threads) {
    if (*options.threads == 0) throw FluidError("serve: threads must be at least 1, got 0");
    out.threads = *options.threads;
  } else if (auto text = env("FLUID_SERVE_THREADS")) {
    out.threads = parse_thread_count(*text, "FLUID_SERVE_THREADS");
  }
  out.startup_timeout = resolve_duration(options.startup_timeout, "FLUID_SERVE_STARTUP_TIMEOUT", "startup_timeout");
  out.shutdown_timeout =
      resolve_duration(options.shutdown_timeout, "FLUID_SERVE_SHUTDOWN_TIMEOUT", "shutdown_timeout");
  return out;
}

int exit_code_of(Worker& root) {
  const auto reason = root.stop_reason();
  if (!reason) return exit_failed;
  return exit_code(*reason);
}

using Session = detail::ServeSession;

/// root.startup(), within the startup timeout if there is one; past it the
/// half-started tree is forced, and the error says why.
Task<> start_root(Session& session) {
  auto& root = session.root;
  const auto limit = session.settings.startup_timeout;
  if (!limit) {
    co_await root.startup();
    co_return;
  }
  const auto race = co_await detail::race_timer(root.startup(), *limit);
  if (race.error) std::rethrow_exception(race.error);
  if (!race.timed_out) co_return;
  if (root.has_started()) {
    session.forced.force(root, ForceCause{.kind = ForceCause::Kind::startup_timeout, .timeout = *limit});
  }
  throw FluidError(root.worker_name() + " was not ready within the startup timeout of " +
                   std::to_string(limit->count()) + "ms");
}

/// Stops listening to signals however serve_on_strand() ends. On the strand,
/// so never at the same time as the handler's own use of the signal set.
struct CloseOnExit {
  std::shared_ptr<detail::SignalWatch> watch;
  ~CloseOnExit() {
    watch->closed = true;
    watch->signals.cancel();
  }
};

/// Tells systemd once the root asks itself to stop (a child ended it), as
/// the signal handler does for a signal.
Subscription notify_stopping(Session& session) {
  if (!session.systemd.active()) return {};
  return session.root.subscribe([&session, name = session.root.worker_name()](const StateChange& change) {
    if (change.worker == name && change.to == WorkerState::stopping) session.systemd.notify("STOPPING=1");
  });
}

void listen_to_signals(const std::shared_ptr<detail::SignalWatch>& watch, Session& session) {
  if (!session.settings.handle_signals) return;
  for (const int number : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) watch->signals.add(number);
  asio::co_spawn(watch->signals.get_executor(), detail::handle_signals(watch, session), asio::detached);
}

/// Starts the root; false (having logged why and shut down what started)
/// if it failed to start. A stop asked for meanwhile is not a failure.
Task<bool> start(Session& session, const detail::SignalWatch& watch) {
  auto& root = session.root;
  std::exception_ptr startup_error;
  try {
    co_await start_root(session);
  } catch (...) {
    startup_error = std::current_exception();
  }
  if (!startup_error) co_return true;
  if (watch.stop_requested && root.stop_reason() != StopReason::failed) {
    // Asked to stop before it was ready, it stopped (or was forced) as asked:
    // a stop, reported as one, not a failure to start.
    logger()->info("{}: stop requested while starting; it stopped before it was ready", root.worker_name());
    co_return true;
  }
  logger()->error("{} failed to start: {}", root.worker_name(), error_message(startup_error));
  session.systemd.notify("STATUS=failed to start: " + error_message(startup_error));
  co_await root.shutdown();
  detail::log_report(root, session.forced.first(), startup_error);
  co_return false;
}

Task<int> serve_on_strand(Session& session) {
  auto& root = session.root;
  auto watch = std::make_shared<detail::SignalWatch>(co_await asio::this_coro::executor);
  const CloseOnExit close{watch};
  listen_to_signals(watch, session);
  if (const auto interval = session.systemd.watchdog_interval()) {
    asio::co_spawn(watch->signals.get_executor(), detail::systemd_watchdog(watch, session, *interval), asio::detached);
  }
  const auto stopping = notify_stopping(session);
  session.systemd.notify("STATUS=starting " + root.worker_name());
  const bool started = co_await start(session, *watch);
  if (!started) co_return exit_failed;
  if (root.is_running()) session.systemd.notify("READY=1\nSTATUS=running");
  try {
    co_await root.wait_for_shutdown();
  } catch (...) {  // reported below through the tree
  }
  detail::log_report(root, session.forced.first(), nullptr);
  const int code = exit_code_of(root);
  session.systemd.notify("STATUS=stopped, exit code " + std::to_string(code));
  co_return code;
}

// On a multi-threaded loop the signal handler and serve_on_strand() would
// otherwise run at once: one re-arming the signal set while the other
// cancels and frees it.
Task<int> serve_root(Session& session) {
  auto strand = asio::make_strand(co_await asio::this_coro::executor);
  co_return co_await asio::co_spawn(strand, serve_on_strand(session), asio::use_awaitable);
}

/// serve()'s answer to an exception escaping a handler: the tree is in an
/// unknown state, so it is forced (every on_shutdown() still runs) and the
/// process exits 2 once it has stopped, never with the root still running.
class EscapedErrors {
 public:
  explicit EscapedErrors(Session& session) : session_(session) {}

  void operator()(const std::exception_ptr& error) {
    const bool first = !seen_.exchange(true);
    logger()->error("{}: an exception escaped a handler on the event loop: {}{}", session_.root.worker_name(),
                    error_message(error), first ? "; forcing it to stop" : "");
    session_.forced.force(session_.root, ForceCause{.kind = ForceCause::Kind::escaped_exception});
  }

  bool seen() const noexcept { return seen_.load(); }

 private:
  Session& session_;
  std::atomic<bool> seen_{false};
};

}  // namespace

int serve(Worker& root, ServeOptions options) {
  std::optional<Session> session;
  try {
    session.emplace(root, resolve(options));
  } catch (const std::exception& e) {
    logger()->error("{}: bad configuration: {}", root.worker_name(), e.what());
    return exit_failed;
  }
  EscapedErrors escaped(*session);
  std::optional<int> code;
  try {
    detail::run_event_loop(detail::store_result(serve_root(*session), code), session->settings.threads,
                           std::ref(escaped));
  } catch (...) {
    logger()->error("{}: {}", root.worker_name(), error_message(std::current_exception()));
    return exit_failed;
  }
  return escaped.seen() || !code ? exit_failed : *code;
}

}  // namespace fluid
