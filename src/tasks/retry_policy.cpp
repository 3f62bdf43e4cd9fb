#include "fluid/tasks/retry_policy.hpp"

#include "fluid/errors.hpp"

#include <cmath>
#include <limits>
#include <string>

namespace fluid {

namespace {

std::string millis(std::chrono::milliseconds value) { return std::to_string(value.count()) + "ms"; }

}  // namespace

std::chrono::milliseconds RetryPolicy::delay(unsigned attempt) const {
  const unsigned exponent = attempt == 0 ? 0 : attempt - 1;
  const double scaled = static_cast<double>(wait.count()) * std::pow(backoff, static_cast<double>(exponent));
  // Past max_wait (or overflowing to infinity, or a NaN of an unchecked
  // policy) the cap applies.
  if (!(scaled < static_cast<double>(max_wait.count()))) return max_wait;
  return std::chrono::milliseconds(std::llround(scaled));
}

bool RetryPolicy::matches(const std::exception_ptr& error) const { return !retry_if || retry_if(error); }

std::optional<std::chrono::milliseconds> RetryPolicy::next_delay(unsigned done) const {
  if (max_attempts && done >= *max_attempts) return std::nullopt;
  return delay(done == std::numeric_limits<unsigned>::max() ? done : done + 1);
}

void check_retry_policy(const RetryPolicy& policy, std::string_view what) {
  const auto fail = [&](const std::string& why) { throw FluidError(std::string(what) + ": " + why); };
  if (policy.wait.count() < 0) fail("wait must not be negative, got " + millis(policy.wait));
  if (policy.max_wait < policy.wait) {
    fail("max_wait " + millis(policy.max_wait) + " is less than wait " + millis(policy.wait));
  }
  if (!std::isfinite(policy.backoff) || policy.backoff <= 0) {
    fail("backoff must be a positive finite number, got " + std::to_string(policy.backoff));
  }
}

std::optional<std::chrono::milliseconds> failure_retry_delay(const std::optional<RetryPolicy>& retry,
                                                             unsigned retry_attempt, const std::exception_ptr& error) {
  if (!retry || !retry->matches(error)) return std::nullopt;
  return retry->next_delay(retry_attempt);
}

std::optional<std::chrono::milliseconds> rate_limit_retry_delay(const std::optional<RetryPolicy>& rate_limit_retry,
                                                                unsigned rate_limit_attempt) {
  if (!rate_limit_retry) return std::nullopt;
  return rate_limit_retry->next_delay(rate_limit_attempt);
}

}  // namespace fluid
