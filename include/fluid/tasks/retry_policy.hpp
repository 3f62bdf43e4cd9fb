#pragma once
/// @file
/// RetryPolicy: when and how soon a failed run (or a rate-limited one) is
/// queued again.

#include <chrono>
#include <exception>
#include <functional>
#include <optional>

namespace fluid {

/// How a task's failures are retried; the retry lives in the broker, so it
/// survives any consumer's restart and is due exactly when delay() says.
///
/// A policy is checked by make_task(): `wait < 0`, `max_wait < wait`,
/// `backoff <= 0` and NaN or infinite values are FluidError there.
struct RetryPolicy {
  /// Retries after the first attempt; nullopt: no limit.
  std::optional<unsigned> max_attempts;
  /// The delay before the first retry.
  std::chrono::milliseconds wait{1000};
  /// 1: a fixed delay; 2: doubling.
  double backoff = 1.0;
  /// The longest delay.
  std::chrono::milliseconds max_wait{60'000};
  /// Which failures are retried; empty: every failure (see retry_on()).
  std::function<bool(const std::exception_ptr&)> retry_if;

  /// The delay before retry `attempt` (1-based): min(wait * backoff^(attempt - 1), max_wait).
  std::chrono::milliseconds delay(unsigned attempt) const;
  /// True when `error` is retried: retry_if is empty, or retry_if(error).
  bool matches(const std::exception_ptr& error) const;
};

/// A retry_if matching exceptions of the types E... and their subclasses
/// (aio-fluid's `exceptions` tuple).
template <class... E>
std::function<bool(const std::exception_ptr&)> retry_on() {
  return [](const std::exception_ptr& error) {
    if (!error) return false;
    const auto is = [&error]<class One>() {
      try {
        std::rethrow_exception(error);
      } catch (const One&) {
        return true;
      } catch (...) {
        return false;
      }
    };
    return (is.template operator()<E>() || ...);
  };
}

}  // namespace fluid
