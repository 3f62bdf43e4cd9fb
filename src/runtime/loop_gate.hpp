#pragma once
// Posting from a thread of our own (a spawner, an I/O thread) to a loop its
// owner may destroy at any time: fluid::run stops and destroys its loop as
// soon as main ends. Whatever such a thread holds of the loop (an executor,
// a strand, an object with timers) it may release after the loop is gone,
// and Asio's post() itself still touches the loop after it has made the
// handler visible there.
//
// A LoopGate is a service of the loop's execution context: post() runs under
// the gate's lock, and the context's shutdown (the first step of its
// destruction, before any service is destroyed) closes the gate under that
// lock. So a post either happens while the loop is whole or not at all, and
// the posting thread needs to hold nothing of the loop but the gate.

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <mutex>

namespace fluid::detail {

class LoopGate {
 public:
  /// The gate of `executor`'s execution context (made on first use). Call it
  /// while that context runs, on one of its threads.
  static std::shared_ptr<LoopGate> of(const boost::asio::any_io_executor& executor);

  /// Posts `function` to the context (its own executor, not a strand), from
  /// any thread. False once the context has shut down: `function` was not
  /// posted, and the caller still owns what it would have handed over.
  bool post(std::function<void()> function);

  /// Called by the context's shutdown: nothing is posted from now on.
  void close() noexcept;

  LoopGate() = default;
  LoopGate(const LoopGate&) = delete;
  LoopGate& operator=(const LoopGate&) = delete;

 private:
  std::mutex mutex_;
  boost::asio::any_io_executor loop_;  // guarded by mutex_; set by the first of(), empty once closed
  bool closed_ = false;                // guarded by mutex_
};

}  // namespace fluid::detail
