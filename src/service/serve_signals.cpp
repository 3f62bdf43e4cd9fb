#include "service/serve_signals.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "runtime/worker_control.hpp"
#include "service/shutdown_report.hpp"
#include "service/timed.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>

namespace fluid::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

/// A repeat closer than this to the first signal is taken as the same request.
constexpr std::chrono::milliseconds duplicate_signal_window{100};

/// SIGHUP: the application's reload hook, on serve()'s strand; the service goes on whatever it does.
Task<> reload(ServeSession& session) {
  const auto name = session.root.worker_name();
  if (!session.settings.reload) {
    logger()->info("received SIGHUP: {} has no reload hook; ignored", name);
    co_return;
  }
  logger()->info("received SIGHUP: reloading {}", name);
  try {
    co_await session.settings.reload();
    logger()->info("{}: reload done", name);
  } catch (...) {
    logger()->error("{}: reload failed: {}; still running as before", name, error_message(std::current_exception()));
  }
}

/// SIGQUIT: the status of the tree in the log (a service's thread dump); it keeps running.
Task<> log_status(ServeSession& session) {
  const auto status = co_await session.root.status();
  logger()->info("received SIGQUIT: status of {}:\n{}", session.root.worker_name(), status.dump(2));
}

/// The reaction to SIGINT/SIGTERM: first graceful, then forced; a repeat at once is one request.
void on_stop_signal(SignalWatch& watch, ServeSession& session, int number,
                    std::optional<Clock::time_point>& first_at, const asio::any_io_executor& executor) {
  auto& root = session.root;
  const auto now = Clock::now();
  const auto since_first = first_at ? now - *first_at : Clock::duration::max();
  if (since_first < duplicate_signal_window) {
    // timeout(1) and some supervisors signal the process and its group:
    // one request arriving twice must not escalate to a forced stop.
    logger()->debug("ignoring {} {}ms after the first one", signal_name(number),
                    std::chrono::duration_cast<std::chrono::milliseconds>(since_first).count());
  } else if (first_at) {
    logger()->warn("received {} again: forcing {} to stop now", signal_name(number), root.worker_name());
    session.systemd.notify("STATUS=forcing the stop: a second " + signal_name(number));
    session.forced.force(root, ForceCause{.kind = ForceCause::Kind::second_signal, .signal = number});
  } else {
    first_at = now;
    watch.stop_requested = true;
    logger()->info("received {}: stopping {} gracefully (send it again to force)", signal_name(number),
                   root.worker_name());
    session.systemd.notify("STOPPING=1\nSTATUS=stopping: received " + signal_name(number));
    asio::co_spawn(executor, root.shutdown(), asio::detached);
    if (const auto timeout = session.settings.shutdown_timeout) {
      asio::co_spawn(executor, shutdown_watchdog(session, *timeout), asio::detached);
    }
  }
}

}  // namespace

void ForceRecord::force(Worker& root, const ForceCause& cause) {
  {
    std::lock_guard lock(mutex_);
    if (!first_) first_ = cause;
  }
  WorkerControl(root).force_stop();
}

std::optional<ForceCause> ForceRecord::first() const {
  std::lock_guard lock(mutex_);
  return first_;
}

Task<> shutdown_watchdog(ServeSession& session, std::chrono::milliseconds timeout) {
  auto& root = session.root;
  const auto race = co_await race_timer(root.wait_for_shutdown(), timeout);
  if (!race.timed_out || root.is_stopped()) co_return;
  logger()->warn("{} still running {}ms after the stop signal: forcing it", root.worker_name(), timeout.count());
  session.systemd.notify("STATUS=forcing the stop: the shutdown timeout passed");
  session.forced.force(root, ForceCause{.kind = ForceCause::Kind::shutdown_timeout, .timeout = timeout});
}

Task<> systemd_watchdog(std::shared_ptr<SignalWatch> watch, ServeSession& session,
                        std::chrono::microseconds interval) {
  while (!watch->closed) {
    session.systemd.notify("WATCHDOG=1");
    co_await sleep(interval);
  }
}

Task<> handle_signals(std::shared_ptr<SignalWatch> watch, ServeSession& session) {
  const auto executor = co_await asio::this_coro::executor;
  std::optional<Clock::time_point> first_at;
  for (;;) {
    const auto [error, number] = co_await watch->signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error || watch->closed) co_return;
    if (number == SIGHUP) {
      asio::co_spawn(executor, reload(session), asio::detached);
    } else if (number == SIGQUIT) {
      asio::co_spawn(executor, log_status(session), asio::detached);
    } else {
      on_stop_signal(*watch, session, number, first_at, executor);
    }
  }
}

}  // namespace fluid::detail
