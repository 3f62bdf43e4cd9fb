#include "service/serve_signals.hpp"

#include "fluid/log.hpp"
#include "runtime/worker_control.hpp"
#include "service/shutdown_report.hpp"
#include "service/timed.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fluid::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

/// A repeat closer than this to the first signal is taken as the same request.
constexpr std::chrono::milliseconds duplicate_signal_window{100};

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

Task<> shutdown_watchdog(Worker& root, std::chrono::milliseconds timeout, ForceRecord& forced) {
  const auto race = co_await race_timer(root.wait_for_shutdown(), timeout);
  if (!race.timed_out || root.is_stopped()) co_return;
  logger()->warn("{} still running {}ms after the stop signal: forcing it", root.worker_name(), timeout.count());
  forced.force(root, ForceCause{.kind = ForceCause::Kind::shutdown_timeout, .timeout = timeout});
}

Task<> handle_signals(std::shared_ptr<SignalWatch> watch, Worker& root,
                      std::optional<std::chrono::milliseconds> shutdown_timeout, ForceRecord& forced) {
  const auto executor = co_await asio::this_coro::executor;
  std::optional<Clock::time_point> first_at;
  for (;;) {
    const auto [error, number] = co_await watch->signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error || watch->closed) co_return;
    const auto now = Clock::now();
    const auto since_first = first_at ? now - *first_at : Clock::duration::max();
    if (since_first < duplicate_signal_window) {
      // timeout(1) and some supervisors signal the process and its group:
      // one request arriving twice must not escalate to a forced stop.
      logger()->debug("ignoring {} {}ms after the first one", signal_name(number),
                      std::chrono::duration_cast<std::chrono::milliseconds>(since_first).count());
    } else if (first_at) {
      logger()->warn("received {} again: forcing {} to stop now", signal_name(number), root.worker_name());
      forced.force(root, ForceCause{.kind = ForceCause::Kind::second_signal, .signal = number});
    } else {
      first_at = now;
      watch->stop_requested = true;
      logger()->info("received {}: stopping {} gracefully (send it again to force)", signal_name(number),
                     root.worker_name());
      asio::co_spawn(executor, root.shutdown(), asio::detached);
      if (shutdown_timeout) asio::co_spawn(executor, shutdown_watchdog(root, *shutdown_timeout, forced), asio::detached);
    }
  }
}

}  // namespace fluid::detail
