#pragma once
// serve()'s reactions to signals, and to what forces its root.

#include "fluid/serve.hpp"
#include "fluid/task.hpp"

#include <boost/asio/signal_set.hpp>

#include <chrono>
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

/// The signals serve() listens to, shared by serve_root() and the coroutine
/// handling them: whichever ends last frees it. Both run on one strand (a
/// signal_set is not thread-safe), so `closed` needs no lock.
struct SignalWatch {
  explicit SignalWatch(const boost::asio::any_io_executor& executor) : signals(executor) {}
  boost::asio::signal_set signals;
  bool closed = false;          // serve_root() is done: stop listening
  bool stop_requested = false;  // a signal asked the root to stop
};

/// Reacts to SIGINT/SIGTERM on `watch` until it is closed: the first asks
/// `root` to stop gracefully (and starts the shutdown watchdog if there is a
/// timeout), a later one forces it. Run it on the strand of `watch`.
[[nodiscard]] Task<> handle_signals(std::shared_ptr<SignalWatch> watch, Worker& root,
                                    std::optional<std::chrono::milliseconds> shutdown_timeout, ForceRecord& forced);

/// Forces `root` if it is still running `timeout` after the stop signal.
[[nodiscard]] Task<> shutdown_watchdog(Worker& root, std::chrono::milliseconds timeout, ForceRecord& forced);

}  // namespace fluid::detail
