#pragma once
// What serve()'s coroutines share, and its reactions to signals and to what
// forces its root.

#include "fluid/serve.hpp"
#include "fluid/task.hpp"
#include "service/systemd_notify.hpp"

#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace fluid::detail {

/// Forces serve()'s root and remembers the first reason it did, for the
/// shutdown report. Thread-safe: the escape handler uses it from any thread.
class ForceRecord {
 public:
  /// Notes `cause` (unless a cause was noted before), then forces `root`.
  void force(Worker& root, const ForceCause& cause);
  /// The first cause noted; nullopt if serve() never forced the root.
  std::optional<ForceCause> first() const;

 private:
  mutable std::mutex mutex_;
  std::optional<ForceCause> first_;
};

/// serve()'s options once resolved against the environment.
struct ServeSettings {
  std::size_t threads = 1;
  std::optional<std::chrono::milliseconds> startup_timeout;
  std::optional<std::chrono::milliseconds> shutdown_timeout;
  bool handle_signals = true;
  std::function<Task<>()> reload;
};

/// What serve()'s coroutines share. It lives in serve(), so it outlives the loop.
struct ServeSession {
  ServeSession(Worker& root, ServeSettings settings) : root(root), settings(std::move(settings)) {}
  Worker& root;
  ServeSettings settings;
  ForceRecord forced;
  SystemdNotifier systemd;
};

/// The signals serve() listens to, shared by serve_root() and the coroutine
/// handling them: whichever ends last frees it. Both run on one strand (a
/// signal_set is not thread-safe), so its flags need no lock.
struct SignalWatch {
  explicit SignalWatch(const boost::asio::any_io_executor& executor) : signals(executor) {}
  boost::asio::signal_set signals;
  bool closed = false;          // serve_root() is done: stop listening
  bool stop_requested = false;  // a signal asked the root to stop
};

/// Reacts to signals on `watch` until it is closed: the first SIGINT/SIGTERM
/// asks the root to stop gracefully (and starts the shutdown watchdog if
/// there is a timeout), a later one forces it; SIGHUP runs the reload hook;
/// SIGQUIT logs the status of the tree. Run it on the strand of `watch`.
[[nodiscard]] Task<> handle_signals(std::shared_ptr<SignalWatch> watch, ServeSession& session);

/// Forces the root if it is still running `timeout` after the stop signal.
[[nodiscard]] Task<> shutdown_watchdog(ServeSession& session, std::chrono::milliseconds timeout);

/// Sends WATCHDOG=1 every `interval` from the event loop until `watch` closes,
/// so a loop that stops answering stops the pings and systemd acts.
[[nodiscard]] Task<> systemd_watchdog(std::shared_ptr<SignalWatch> watch, ServeSession& session,
                                      std::chrono::microseconds interval);

}  // namespace fluid::detail
