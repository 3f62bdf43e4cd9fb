#pragma once
/// @file
/// QueueConsumer: a worker fed by an in-memory queue that any thread can send to.

#include "fluid/detail/latency_histogram.hpp"
#include "fluid/detail/queue_gate.hpp"
#include "fluid/detail/when_all.hpp"
#include "fluid/errors.hpp"
#include "fluid/queue_options.hpp"
#include "fluid/send_result.hpp"
#include "fluid/worker.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <utility>

namespace fluid {

/// A worker that consumes messages sent to it from anywhere.
///
/// Producers (other workers, other threads, code before startup) call send();
/// the consumer's run() takes messages with get_message(), waiting on an event
/// (never polling) so an idle consumer stops at once. On graceful stop the
/// queue is drained by default and closed the moment it is found empty; after
/// that send() throws. Nothing accepted is lost unnoticed: what a forced stop
/// or a discard leaves behind is counted as dropped (status()) and logged.
///
/// Subclasses implement run(); QueueConsumerWorker and AsyncConsumer are the
/// ready-made ones.
template <class T>
class QueueConsumer : public Worker {
 public:
  explicit QueueConsumer(WorkerOptions options = {}, QueueOptions queue = {})
      : Worker(options), gate_(queue, options.name) {}
  /// A consumer never started takes its messages with it: counted and logged.
  ~QueueConsumer() override {
    if (!this->has_started()) close_and_drop("the consumer was destroyed without ever being started", false);
  }

  /// Enqueues `message`. Thread-safe, never blocks; works before startup().
  /// @throws QueueClosedError once the queue is closed (stopped, or drained
  ///         while stopping); QueueFullError if bounded and full.
  void send(T message) {
    const auto result = offer(message);
    if (result != SendResult::accepted) gate_.throw_rejected(result, worker_name(), has_started());
  }

  /// Like send(), but returns what came of it instead of throwing: accepted,
  /// closed (it never will be accepted) or full (try again, or async_send()).
  /// Tests true when accepted. Thread-safe, never blocks.
  SendResult try_send(T message) { return offer(message); }

  /// Enqueues `message`, waiting for room if the queue is bounded and full
  /// (backpressure). Call from a coroutine on any executor.
  /// @throws QueueClosedError if the queue is or becomes closed.
  [[nodiscard]] Task<> async_send(T message) {
    auto result = offer(message);
    if (result == SendResult::full) {
      // Registered before the ticket and the offer: a hand-over after this
      // offer then sees a waiter and notifies (see QueueGate::handed_over).
      // Registered only after a full offer, a sender could miss the hand-over
      // that emptied the queue and sleep with room to spare, for good.
      // A close needs no registration: it notifies unconditionally after
      // closing under gate_.mutex, so the offer sees it or the ticket predates it.
      detail::QueueGate::WaitingSender registered(gate_);
      do {
        const auto ticket = gate_.room_ready.ticket();
        result = offer(message);
        if (result == SendResult::full) co_await gate_.room_ready.wait(ticket);
      } while (result == SendResult::full);
    }
    if (result == SendResult::closed) gate_.throw_rejected(result, worker_name(), has_started());
  }

  /// Messages accepted and not yet handed to the consumer. Thread-safe.
  std::size_t queue_size() const { return gate_.pending(); }
  /// Messages handed to the consumer so far.
  std::uint64_t processed_count() const { return gate_.processed(); }
  /// Messages accepted but never handed over (forced stop, discard).
  std::uint64_t dropped_count() const { return gate_.dropped(); }
  /// Messages handed over whose handler threw or ran past handler_timeout
  /// (counted in processed_count() too).
  std::uint64_t failed_count() const { return gate_.failed(); }

  /// The next message, or nullopt after `timeout`, or nullopt at once when
  /// the consumer should return: stopping with the queue drained (which
  /// closes it) or discarded. Call only on the worker's executor (run() and
  /// the coroutines it starts); several may wait at once, none misses a send.
  [[nodiscard]] Task<std::optional<T>> get_message(std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) {
    const auto deadline = detail::deadline_after(timeout);
    for (;;) {
      const auto ticket = gate_.message_ready.ticket();
      std::optional<T> message;
      if (take_or_wait(&message)) {
        if (message) gate_.handed_over(1);
        co_return message;
      }
      const bool woken = co_await gate_.message_ready.wait(ticket, deadline);  // not in the if: GCC PR 106188
      if (!woken) co_return std::nullopt;
    }
  }

  /// Worker status plus "queue_size", "processed", "dropped", "failed",
  /// "capacity", "concurrency" and, for consumers that run consume(),
  /// "handler_latency" (see LatencyHistogram).
  Task<nlohmann::json> status() override {
    auto out = co_await Worker::status();
    out.update(gate_.status());
    if (latency_.count() != 0) out["handler_latency"] = latency_.to_json();
    co_return out;
  }

  /// Asks the consumer to stop and wakes it; discards the queue if so configured.
  void gracefully_stop() override {
    Worker::gracefully_stop();
    if (!is_stopping()) return;
    if (!gate_.options().drain_on_stop) close_and_drop("discarded on graceful stop (drain_on_stop is off)", false);
    gate_.message_ready.notify_all();
  }

 protected:
  /// Hands every message to `handle` (a callable returning Task<>) in
  /// order until the queue is closed (stopped and drained, or discarded),
  /// and records each handler's latency. The run() of the ready-made
  /// consumers. One handler at a time unless QueueOptions::concurrency says
  /// more, each within QueueOptions::handler_timeout if set. A handler that
  /// throws fails the consumer (the handlers still running finish first).
  template <class Handle>
  Task<> consume(Handle handle) {
    if (gate_.options().concurrency > 1 || gate_.options().handler_timeout) {
      co_await consume_concurrently(std::move(handle));
      co_return;
    }
    std::exception_ptr failure;
    try {
      co_await consume_in_order(std::move(handle));
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      // Out of the loop, only a handler's exception or the forced stop's
      // cancellation: counted here, not with a try around every handler.
      const auto cancellation = co_await boost::asio::this_coro::cancellation_state;
      count_failure(cancellation.cancelled());
      std::rethrow_exception(failure);
    }
  }

  void on_worker_stopped() noexcept override {
    if (this->has_started()) {
      close_and_drop("the consumer stopped before handing them over", true);
    } else {
      close_and_drop("the consumer was never started (its group stopped first)", false);
    }
    Worker::on_worker_stopped();
  }

 private:
  // consume() one handler at a time, in order: the lock once per batch, not
  // once per message.
  template <class Handle>
  Task<> consume_in_order(Handle handle) {
    for (;;) {
      const bool more = co_await next_batch();  // not in the condition: GCC PR 106188
      if (!more) break;
      // One clock read per window of latency_span_ handlers, not per handler:
      // a clock read costs more than a trivial handler (see LatencyHistogram).
      // A handler that suspended closes its window at once.
      auto started = std::chrono::steady_clock::now();
      std::size_t timed = 0;
      while (!batch_.empty() && keeps_consuming()) {
        T message = std::move(batch_.front());
        batch_.pop_front();
        gate_.handed_over(1);
        bool& switched_before = co_await context_switched();
        const bool had_switched = switched_before;
        switched_before = false;
        co_await handle(std::move(message));
        bool& switched = co_await context_switched();
        const bool suspended = switched;  // the handler waited: time it (nearly) alone
        switched = switched || had_switched;
        if (++timed < latency_span_ && !suspended) continue;
        started = record_latency(started, timed);
        timed = 0;
      }
      if (timed != 0) record_latency(started, timed);
    }
  }

  // Moves everything queued into batch_, waiting for at least one message.
  // False when the consumer should return (drained or closed).
  Task<bool> next_batch() {
    for (;;) {
      const auto ticket = gate_.message_ready.ticket();
      {
        std::lock_guard lock(gate_.mutex);
        if (!queue_.empty()) {
          if (batch_.empty()) {
            batch_.swap(queue_);
          } else {
            for (auto& m : queue_) batch_.push_back(std::move(m));
            queue_.clear();
          }
          co_return true;
        }
        if (finish_if_drained()) co_return false;
        gate_.consumer_waits();
      }
      co_await gate_.message_ready.wait(ticket);
    }
  }

  // consume() with options().concurrency lanes, each taking the next message
  // and awaiting its handler, until the queue closes or a handler fails.
  template <class Handle>
  Task<> consume_concurrently(Handle handle) {
    lanes_stopped_ = false;
    co_await detail::when_all(gate_.options().concurrency, [this, &handle](std::size_t) { return lane(handle); });
  }

  template <class Handle>
  Task<> lane(Handle& handle) {
    for (;;) {
      auto message = co_await next_for_lane();
      if (!message) co_return;
      gate_.handed_over(1);
      std::exception_ptr failure;
      try {
        co_await handle_in_time(handle, std::move(*message));
      } catch (...) {
        failure = std::current_exception();
      }
      if (!failure) continue;
      const auto cancellation = co_await boost::asio::this_coro::cancellation_state;
      count_failure(cancellation.cancelled());
      lanes_stopped_ = true;  // the other lanes take no more
      gate_.message_ready.notify_all();
      std::rethrow_exception(failure);
    }
  }

  // A handler threw: a failed message, unless the consumer was being
  // cancelled (`cancelled`), which is its forced stop reaching the handler.
  void count_failure(boost::asio::cancellation_type cancelled) noexcept {
    if (cancelled == boost::asio::cancellation_type::none) gate_.count_failed();
  }

  // Awaits one handler, cancelled past options().handler_timeout.
  template <class Handle>
  Task<> handle_in_time(Handle& handle, T message) {
    const auto started = std::chrono::steady_clock::now();
    if (const auto timeout = gate_.options().handler_timeout) {
      using namespace boost::asio::experimental::awaitable_operators;
      const auto first = co_await (handle(std::move(message)) || fluid::sleep(*timeout));
      if (first.index() == 1) gate_.timed_out(worker_name());
    } else {
      co_await handle(std::move(message));
    }
    latency_.record(std::chrono::steady_clock::now() - started);
  }

  // The next message for a lane; nullopt when the lanes should return.
  Task<std::optional<T>> next_for_lane() {
    for (;;) {
      const auto ticket = gate_.message_ready.ticket();
      {
        std::lock_guard lock(gate_.mutex);
        if (lanes_stopped_ || !keeps_consuming()) co_return std::nullopt;
        if (!queue_.empty()) {
          std::optional<T> message(std::move(queue_.front()));
          queue_.pop_front();
          co_return message;
        }
        if (finish_if_drained()) co_return std::nullopt;
        gate_.consumer_waits();
      }
      co_await gate_.message_ready.wait(ticket);
    }
  }

  // Asio's per-coroutine-thread flag "has suspended since it was last reset"
  // (what co_spawn itself uses; consume() restores what it found).
  static auto context_switched() noexcept { return boost::asio::detail::awaitable_thread_has_context_switched{}; }

  // Records the latency of the `count` handlers run since `started`, adapts
  // the window, and returns now.
  std::chrono::steady_clock::time_point record_latency(std::chrono::steady_clock::time_point started,
                                                       std::size_t count) noexcept {
    const auto ended = std::chrono::steady_clock::now();
    latency_.record(ended - started, count);
    latency_span_ = detail::LatencyHistogram::next_span(latency_span_, ended - started);
    return ended;
  }

  // False once stopping with drain_on_stop off: stop handing over a batch.
  bool keeps_consuming() const noexcept { return gate_.options().drain_on_stop || is_running(); }

  SendResult offer(T& message) {
    bool wake = false;
    {
      std::lock_guard lock(gate_.mutex);
      const auto result = gate_.admission();
      if (result != SendResult::accepted) return result;
      queue_.push_back(std::move(message));
      wake = gate_.admit();
    }
    if (wake) gate_.message_ready.notify_all();
    return SendResult::accepted;
  }

  // Under no lock. Returns true with a message, or true with none when the
  // consumer should return; false when it must wait (marked waiting).
  bool take_or_wait(std::optional<T>* message) {
    std::lock_guard lock(gate_.mutex);
    if (!queue_.empty()) {
      message->emplace(std::move(queue_.front()));
      queue_.pop_front();
      return true;
    }
    if (finish_if_drained()) return true;
    gate_.consumer_waits();
    return false;
  }

  // Under the lock, queue empty: closes it if the worker is no longer running,
  // so no message can slip in after the consumer's last look.
  bool finish_if_drained() {
    if (gate_.closed()) return true;
    if (is_running()) return false;
    gate_.close();
    gate_.room_ready.notify_all();
    return true;
  }

  // `with_in_flight`: also count what run() took but did not hand over; only
  // on the worker's executor, where run() lives.
  void close_and_drop(std::string_view why, bool with_in_flight) noexcept {
    // Destroyed unlocked; made only when there is something to drop: an
    // empty std::deque allocates, and most consumers stop drained.
    std::optional<std::deque<T>> left;
    {
      std::lock_guard lock(gate_.mutex);
      gate_.close();
      if (!queue_.empty()) left.emplace().swap(queue_);
    }
    gate_.room_ready.notify_all();
    const auto count = (left ? left->size() : 0) + (with_in_flight ? batch_.size() : 0);
    if (count == 0) return;
    try {
      gate_.drop(count, worker_name(), why);
    } catch (...) {  // logging must not turn a stop into a terminate
    }
  }

  detail::QueueGate gate_;
  std::deque<T> queue_;  // guarded by gate_.mutex
  std::deque<T> batch_;  // taken from queue_ by consume(), touched only on the worker's executor
  detail::LatencyHistogram latency_;
  std::size_t latency_span_ = 1;  // handlers timed per clock read, touched only on the worker's executor
  bool lanes_stopped_ = false;    // a lane's handler failed: take no more (worker's executor only)
};

/// A queue consumer that awaits `on_message(message)` for each message, in
/// order, one at a time: aio-fluid's QueueConsumerWorker.
/// An exception from on_message fails the worker (reported like any failure);
/// the messages still queued are then counted as dropped.
template <class T>
class QueueConsumerWorker : public QueueConsumer<T> {
 public:
  using Handler = std::function<Task<>(T)>;

  /// @throws FluidError if `on_message` is empty.
  explicit QueueConsumerWorker(Handler on_message, WorkerOptions options = {}, QueueOptions queue = {})
      : QueueConsumer<T>(std::move(options), queue), on_message_(std::move(on_message)) {
    if (!on_message_) throw FluidError("QueueConsumerWorker: the message handler is empty");
  }

 protected:
  Task<> run() override {
    co_await this->consume([this](T message) { return on_message_(std::move(message)); });
  }

 private:
  Handler on_message_;
};

}  // namespace fluid
