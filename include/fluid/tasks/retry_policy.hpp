#pragma once
/// @file
/// RetryPolicy: when and how soon a failed run (or a rate-limited one) is
/// queued again.

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string_view>

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

  /// The delay before retry `attempt` (1-based; 0 counts as 1):
  /// min(wait * backoff^(attempt - 1), max_wait), rounded to the millisecond.
  std::chrono::milliseconds delay(unsigned attempt) const;
  /// True when `error` is retried: retry_if is empty, or retry_if(error).
  bool matches(const std::exception_ptr& error) const;
  /// The delay before the next retry when `done` retries were made already,
  /// delay(done + 1); nullopt when max_attempts retries were made.
  std::optional<std::chrono::milliseconds> next_delay(unsigned done) const;
};

/// Checks what make_task() checks of a policy: `wait < 0`, `max_wait < wait`,
/// `backoff <= 0`, NaN or infinite backoff.
/// @param what names the policy in the message ("task 'x' retry").
/// @throws FluidError naming `what`, the value and the rule.
void check_retry_policy(const RetryPolicy& policy, std::string_view what);

/// aio-fluid's retry decision after an attempt failed with `error`, its run
/// having been retried `retry_attempt` times: the delay before the run is
/// queued again (with retry_attempt + 1), or nullopt (no policy, `error` not
/// matched, or max_attempts retries made). Aborts, timeouts, invalid params
/// and lease-expiry failures are never retried: the caller does not ask.
std::optional<std::chrono::milliseconds> failure_retry_delay(const std::optional<RetryPolicy>& retry,
                                                             unsigned retry_attempt, const std::exception_ptr& error);

/// The decision for a run met at its task's max_concurrency after
/// `rate_limit_attempt` rate-limit retries: the delay before it is tried
/// again (it stays queued), or nullopt: it ends rate_limited. retry_if is not
/// consulted.
std::optional<std::chrono::milliseconds> rate_limit_retry_delay(const std::optional<RetryPolicy>& rate_limit_retry,
                                                                unsigned rate_limit_attempt);

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
