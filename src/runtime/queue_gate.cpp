#include "fluid/detail/queue_gate.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"

#include <string>

namespace fluid::detail {

namespace {

QueueOptions checked(QueueOptions options, std::string_view worker) {
  const auto fail = [&](const std::string& what) {
    throw FluidError("queue consumer " + std::string(worker.empty() ? "(unnamed)" : worker) + ": " + what);
  };
  if (options.concurrency == 0) fail("concurrency must be at least 1");
  if (options.handler_timeout && options.handler_timeout->count() <= 0) fail("handler_timeout must be positive");
  return options;
}

}  // namespace

QueueGate::QueueGate(QueueOptions options, std::string_view worker) : options_(checked(options, worker)) {}

void QueueGate::timed_out(std::string_view worker) noexcept {
  count_failed();
  try {
    logger()->error("{}: a handler ran past its timeout of {}ms and was cancelled; the message counts as failed",
                    worker, options_.handler_timeout.value_or(std::chrono::milliseconds(0)).count());
  } catch (...) {  // logging must not fail the consumer
  }
}

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
  log_worker(spdlog::level::warn, worker, "{} dropped {} queued message(s): {}", worker, count, why);
}

nlohmann::json QueueGate::status() const {
  return {{"queue_size", pending()}, {"processed", processed()},      {"dropped", dropped()},
          {"failed", failed()},      {"capacity", options_.capacity}, {"concurrency", options_.concurrency}};
}

void QueueGate::throw_rejected(SendResult result, std::string_view worker, bool started) const {
  if (result == SendResult::full) {
    throw QueueFullError("worker " + std::string(worker) + ": queue is full (capacity " +
                         std::to_string(options_.capacity) + "); use try_send() or async_send() to wait for room");
  }
  if (!started) {
    throw QueueClosedError(
        "worker " + std::string(worker) +
        ": queue is closed, the consumer was never started and never will be (its group stopped first)");
  }
  throw QueueClosedError("worker " + std::string(worker) +
                         ": queue is closed, the consumer has stopped accepting messages");
}

}  // namespace fluid::detail
