#pragma once
// A call's way back to its caller, from the client's I/O thread to the
// caller's execution context, which the caller may destroy at any time:
// fluid::run stops and destroys its loop as soon as main ends, right after a
// completion resumed it or with a call still pending. Asio's post() makes
// the handler visible (unlocks the loop's queue) before it signals the
// loop's condition variable, so a completion still inside post() may touch
// a loop its resumed caller has already destroyed; and a pending call's
// handler belongs to a loop that may be gone when the reply comes.
//
// So each caller's context gets a gate: the I/O thread posts to the context
// only under the gate's lock, and the context's shutdown (the first step of
// its destruction) closes the gate under that lock, destroying there, on
// the destroying thread, the handlers still pending on it, as Asio does
// with its own pending operations.

#include "brokers/redis/reply.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <exception>
#include <memory>
#include <optional>

namespace fluid::redis {

struct CallerGate;

/// A call's completion handler, held for its caller until the reply comes.
class CallerCompletion {
 public:
  using Handler = boost::asio::any_completion_handler<void(std::exception_ptr, Reply)>;

  /// Takes `handler`, whose executor is `caller`, on the caller's thread
  /// (while the caller's context runs).
  CallerCompletion(Handler handler, const boost::asio::any_io_executor& caller);
  /// Completes with operation_aborted if it has not completed yet.
  ~CallerCompletion();
  CallerCompletion(const CallerCompletion&) = delete;
  CallerCompletion& operator=(const CallerCompletion&) = delete;

  /// The handler's cancellation slot; before the call is handed to another thread.
  boost::asio::cancellation_slot cancellation_slot();

  /// Posts the handler with its result to the caller's executor, once
  /// (any thread); nothing when its context is gone.
  void complete(std::exception_ptr error, Reply reply);

 private:
  friend struct CallerGate;
  struct Parts {
    boost::asio::any_io_executor work;
    std::optional<Handler> handler;  // destroyed first: the work guard ends after it
  };
  Parts take();  // under the gate's lock

  std::shared_ptr<CallerGate> gate_;
  // Guarded by gate_->mutex. An optional, set with emplace(): Boost 1.81's
  // move assignment of an any_completion_handler recurses without end.
  std::optional<Handler> handler_;
  boost::asio::any_io_executor work_;  // keeps the caller's context busy until the handler ran
};

}  // namespace fluid::redis
