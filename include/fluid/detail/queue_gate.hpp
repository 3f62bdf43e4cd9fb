#pragma once
/// @file
/// The type-independent half of a queue consumer: admission, closing,
/// counting and wake-ups. QueueConsumer<T> adds only the typed deque.

#include "fluid/detail/notifier.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>

namespace fluid {

/// How a queue consumer holds messages and what it does with them on stop.
struct QueueOptions {
  /// Most messages held at once; 0 means unbounded.
  std::size_t capacity = 0;
  /// On graceful stop, consume what is queued (true) or discard and count it.
  bool drain_on_stop = true;
};

/// What an attempt to enqueue a message came to.
enum class SendResult { accepted, closed, full };

namespace detail {

/// Admission control and bookkeeping shared by every QueueConsumer<T>.
/// The typed deque of the consumer is guarded by `mutex`.
class QueueGate {
 public:
  explicit QueueGate(QueueOptions options) : options_(options) {}

  const QueueOptions& options() const noexcept { return options_; }
  std::mutex mutex;

  // Under `mutex`:
  /// Whether a message may be admitted now (closed or full otherwise).
  SendResult admission() const noexcept;
  /// Records an admitted message; returns true if the consumer must be woken.
  bool admit() noexcept;
  /// Marks the queue closed; returns true the first time.
  bool close() noexcept;
  bool closed() const noexcept { return closed_; }
  /// The consumer found nothing to take and is about to wait.
  void consumer_waits() noexcept { consumer_waiting_ = true; }
  void consumer_woke() noexcept { consumer_waiting_ = false; }

  // Lock-free, from any thread:
  /// Messages accepted and not yet handed to the consumer or dropped.
  std::size_t pending() const noexcept { return pending_.load(std::memory_order_relaxed); }
  std::uint64_t processed() const noexcept { return processed_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  /// `count` messages were handed to the consumer; wakes senders waiting for
  /// room. Called by the consumer only (one writer of processed()), once per
  /// message: inline, and no locked read-modify-write it can do without.
  void handed_over(std::size_t count) noexcept {
    processed_.store(processed_.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
    pending_.fetch_sub(count, std::memory_order_relaxed);
    if (senders_waiting.load(std::memory_order_acquire) != 0) room_ready.notify_all();
  }
  /// `count` accepted messages will never be handed over: counts and logs them.
  void drop(std::size_t count, std::string_view worker, std::string_view why);

  /// Wakes the consumer (a message, a stop, a close).
  Notifier message_ready;
  /// Wakes senders waiting for room in a bounded queue (or for the close).
  Notifier room_ready;
  std::atomic<std::size_t> senders_waiting{0};

  /// {"queue_size", "processed", "dropped", "capacity"} for status().
  nlohmann::json status() const;
  /// The error send() throws for `result` (closed or full), naming `worker`.
  [[noreturn]] void throw_rejected(SendResult result, std::string_view worker) const;

 private:
  QueueOptions options_;
  bool closed_ = false;
  bool consumer_waiting_ = false;
  std::atomic<std::size_t> pending_{0};
  std::atomic<std::uint64_t> processed_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace detail
}  // namespace fluid
