#include "fluid/detail/queue_gate.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"

#include <string>

namespace fluid::detail {

SendResult QueueGate::admission() const noexcept {
  if (closed_) return SendResult::closed;
  // seq_cst, not pending()'s relaxed load: an async_send() that finds the
  // queue full relies on it (see handed_over()).
  if (options_.capacity != 0 && pending_.load(std::memory_order_seq_cst) >= options_.capacity) return SendResult::full;
  return SendResult::accepted;
}

bool QueueGate::admit() noexcept {
  pending_.fetch_add(1, std::memory_order_relaxed);
  const bool wake = consumer_waiting_;
  consumer_waiting_ = false;
  return wake;
}

bool QueueGate::close() noexcept {
  const bool first = !closed_;
  closed_ = true;
  return first;
}

void QueueGate::drop(std::size_t count, std::string_view worker, std::string_view why) {
  if (count == 0) return;
  pending_.fetch_sub(count, std::memory_order_relaxed);
  dropped_.fetch_add(count, std::memory_order_relaxed);
  logger()->warn("{} dropped {} queued message(s): {}", worker, count, why);
}

nlohmann::json QueueGate::status() const {
  return {{"queue_size", pending()}, {"processed", processed()}, {"dropped", dropped()}, {"capacity", options_.capacity}};
}

void QueueGate::throw_rejected(SendResult result, std::string_view worker, bool started) const {
  if (result == SendResult::full) {
    throw QueueFullError("worker " + std::string(worker) + ": queue is full (capacity " +
                         std::to_string(options_.capacity) + "); use try_send() or async_send() to wait for room");
  }
  if (!started) {
    throw QueueClosedError("worker " + std::string(worker) +
                           ": queue is closed, the consumer was never started and never will be (its group stopped first)");
  }
  throw QueueClosedError("worker " + std::string(worker) + ": queue is closed, the consumer has stopped accepting messages");
}

}  // namespace fluid::detail
