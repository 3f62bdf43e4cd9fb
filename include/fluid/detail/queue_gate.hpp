#pragma once
/// @file
/// The type-independent half of a queue consumer: admission, closing,
/// counting and wake-ups. QueueConsumer<T> adds only the typed deque.

#include "fluid/detail/notifier.hpp"
#include "fluid/queue_options.hpp"
#include "fluid/send_result.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>

namespace fluid {

namespace detail {

/// Admission control and bookkeeping shared by every QueueConsumer<T>.
/// The typed deque of the consumer is guarded by `mutex`.
class QueueGate {
 public:
  /// @throws FluidError naming `worker` if `options` are out of range.
  QueueGate(QueueOptions options, std::string_view worker);

  const QueueOptions& options() const noexcept { return options_; }
  // std::mutex, not detail::Mutex: producers on several threads contend for
  // it (W5 ran at half its rate in two runs of four on the futex word), and
  // one lock per consumer is no memory worth saving.
  std::mutex mutex;

  // Under `mutex`:
  /// Whether a message may be admitted now (closed or full otherwise).
  SendResult admission() const noexcept;
  /// Records an admitted message; returns true if the consumer must be woken.
  bool admit() noexcept;
  /// Marks the queue closed; returns true the first time.
  bool close() noexcept;
  bool closed() const noexcept { return closed_; }
  /// A consumer found nothing to take and is about to wait. The next admit()
  /// wakes every waiter and clears this; nothing else does: a waiter timing
  /// out leaves it set, since another coroutine may still wait (a spare
  /// notification costs little, a lost one a message left waiting).
  void consumer_waits() noexcept { consumer_waiting_ = true; }

  // Lock-free, from any thread:
  /// Messages accepted and not yet handed to the consumer or dropped.
  std::size_t pending() const noexcept { return pending_.load(std::memory_order_relaxed); }
  std::uint64_t processed() const noexcept { return processed_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  /// Messages handed over whose handler threw or timed out.
  std::uint64_t failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  /// A handler threw or timed out. On the consumer's executor.
  void count_failed() noexcept { failed_.fetch_add(1, std::memory_order_relaxed); }
  /// Logs a handler that outlived handler_timeout; the message counts as failed.
  void timed_out(std::string_view worker) noexcept;
  /// `count` messages were handed to the consumer; wakes senders waiting for
  /// room. Called by the consumer only (one writer of processed()), once per
  /// message: inline, and no locked read-modify-write it can do without.
  void handed_over(std::size_t count) noexcept {
    processed_.store(processed_.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
    // Why seq_cst: this decrement then load, against WaitingSender's increment
    // then admission()'s read of pending_, is a store-buffering pair: only
    // seq_cst on all four keeps both loads from missing the other's write.
    // So a sender's full offer sees this room, or this load sees the sender
    // and notifies, after its ticket (taken before a read that missed this
    // decrement). Free on x86: the RMW is locked anyway, the load is plain.
    pending_.fetch_sub(count, std::memory_order_seq_cst);
    if (senders_waiting_.load(std::memory_order_seq_cst) != 0) room_ready.notify_all();
  }
  /// `count` accepted messages will never be handed over: counts and logs them.
  void drop(std::size_t count, std::string_view worker, std::string_view why);

  /// Wakes the consumer (a message, a stop, a close).
  Notifier message_ready;
  /// Wakes senders waiting for room in a bounded queue (or for the close).
  Notifier room_ready;

  /// Counts a sender as waiting for room while it lives, so that
  /// handed_over() notifies room_ready. Take it before the ticket of
  /// room_ready and the offer it guards, never after a full offer.
  class WaitingSender {
   public:
    explicit WaitingSender(QueueGate& gate) noexcept : gate_(gate) {
      gate_.senders_waiting_.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: see handed_over()
    }
    ~WaitingSender() { gate_.senders_waiting_.fetch_sub(1, std::memory_order_relaxed); }  // seen late: a spare notify
    WaitingSender(const WaitingSender&) = delete;
    WaitingSender& operator=(const WaitingSender&) = delete;

   private:
    QueueGate& gate_;
  };

  /// {"queue_size", "processed", "dropped", "failed", "capacity",
  /// "concurrency"} for status().
  nlohmann::json status() const;
  /// The error send() throws for `result` (closed or full), naming `worker`
  /// and, when closed, whether it ever `started` (else it was retired).
  [[noreturn]] void throw_rejected(SendResult result, std::string_view worker, bool started) const;

 private:
  QueueOptions options_;
  bool closed_ = false;
  bool consumer_waiting_ = false;
  std::atomic<std::size_t> pending_{0};
  std::atomic<std::size_t> senders_waiting_{0};
  std::atomic<std::uint64_t> processed_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace detail
}  // namespace fluid
