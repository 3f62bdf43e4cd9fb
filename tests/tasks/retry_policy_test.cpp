// RetryPolicy: the delay of each retry, which failures it retries, the
// retry decisions of a failed and of a rate-limited run, and the checks
// make_task() applies to a policy.

#include "support/thrown.hpp"

#include <fluid/errors.hpp>
#include <fluid/tasks/retry_policy.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using fluid::RetryPolicy;
using fluid::test::thrown_message;

namespace {

template <class E>
std::exception_ptr exception_of(const char* what = "boom") {
  return std::make_exception_ptr(E(what));
}

RetryPolicy policy(std::optional<unsigned> max_attempts, std::chrono::milliseconds wait, double backoff = 1.0) {
  RetryPolicy p;
  p.max_attempts = max_attempts;
  p.wait = wait;
  p.backoff = backoff;
  return p;
}

// The message of the FluidError check_retry_policy throws for `p`.
std::string check_error(const RetryPolicy& p) {
  return thrown_message([&] { fluid::check_retry_policy(p, "task 'retryable' retry"); });
}

}  // namespace

// Ports test_retry.py::test_delay_fixed (P).
TEST(RetryPolicy, ABackoffOfOneWaitsTheSameBeforeEveryRetry) {
  const auto p = policy(std::nullopt, 5s, 1.0);
  EXPECT_EQ(p.delay(1), 5s);
  EXPECT_EQ(p.delay(2), 5s);
  EXPECT_EQ(p.delay(10), 5s);
}

// Ports test_retry.py::test_delay_exponential (P).
TEST(RetryPolicy, ABackoffOfTwoDoublesTheDelayEachRetry) {
  const auto p = policy(std::nullopt, 1s, 2.0);
  EXPECT_EQ(p.delay(1), 1s);
  EXPECT_EQ(p.delay(2), 2s);
  EXPECT_EQ(p.delay(3), 4s);
}

// Ports test_retry.py::test_delay_capped_by_max_wait (P).
TEST(RetryPolicy, TheDelayNeverExceedsMaxWait) {
  auto p = policy(std::nullopt, 10s, 2.0);
  p.max_wait = 15s;
  EXPECT_EQ(p.delay(1), 10s);
  EXPECT_EQ(p.delay(2), 15s);
}

TEST(RetryPolicy, AnAttemptFarPastTheCapStaysAtMaxWaitWithoutOverflowing) {
  const auto p = policy(std::nullopt, 1s, 2.0);
  EXPECT_EQ(p.delay(64), 60s);
  EXPECT_EQ(p.delay(5000), 60s);
  EXPECT_EQ(p.delay(std::numeric_limits<unsigned>::max()), 60s);
}

TEST(RetryPolicy, DelaysAreRoundedToTheMillisecond) {
  const auto p = policy(std::nullopt, 1ms, 1.5);
  EXPECT_EQ(p.delay(2), 2ms);  // 1.5 ms
  EXPECT_EQ(p.delay(3), 2ms);  // 2.25 ms
  EXPECT_EQ(policy(std::nullopt, 100ms, 0.5).delay(3), 25ms);
}

TEST(RetryPolicy, AttemptZeroCountsAsTheFirst) { EXPECT_EQ(policy(std::nullopt, 3s, 2.0).delay(0), 3s); }

// Ports test_retry.py::test_matches_all_exceptions_when_empty (P).
TEST(RetryPolicy, WithoutRetryIfEveryFailureMatches) {
  const RetryPolicy p;
  EXPECT_TRUE(p.matches(exception_of<std::runtime_error>("any")));
  EXPECT_TRUE(p.matches(exception_of<std::invalid_argument>("also")));
  EXPECT_TRUE(p.matches(std::make_exception_ptr(42)));
}

// Ports test_retry.py::test_matches_specific_exception_type (P): ValueError is
// std::invalid_argument here.
TEST(RetryPolicy, RetryOnMatchesOnlyTheTypesGiven) {
  RetryPolicy p;
  p.retry_if = fluid::retry_on<std::invalid_argument>();
  EXPECT_TRUE(p.matches(exception_of<std::invalid_argument>("yes")));
  EXPECT_FALSE(p.matches(exception_of<std::runtime_error>("no")));
  EXPECT_FALSE(p.matches(std::make_exception_ptr(42)));
  EXPECT_FALSE(p.matches(nullptr));
}

// Ports test_retry.py::test_matches_subclass (P).
TEST(RetryPolicy, RetryOnMatchesSubclassesOfTheTypesGiven) {
  RetryPolicy p;
  p.retry_if = fluid::retry_on<std::exception>();
  EXPECT_TRUE(p.matches(exception_of<std::runtime_error>("subclass of std::exception")));
  EXPECT_TRUE(p.matches(exception_of<fluid::FluidError>("a grandchild")));
}

TEST(RetryPolicy, RetryOnMatchesAnyOfSeveralTypes) {
  const auto retry_if = fluid::retry_on<std::invalid_argument, std::out_of_range>();
  EXPECT_TRUE(retry_if(exception_of<std::invalid_argument>()));
  EXPECT_TRUE(retry_if(exception_of<std::out_of_range>()));
  EXPECT_FALSE(retry_if(exception_of<std::runtime_error>()));
}

TEST(RetryPolicy, NextDelayIsTheDelayOfTheNextRetryUntilMaxAttempts) {
  const auto p = policy(2u, 1s, 2.0);
  EXPECT_EQ(p.next_delay(0), 1s);
  EXPECT_EQ(p.next_delay(1), 2s);
  EXPECT_EQ(p.next_delay(2), std::nullopt);
  EXPECT_EQ(policy(0u, 1s).next_delay(0), std::nullopt);
}

// Ports test_retry.py::test_failure_retry_no_policy_returns_none (A).
TEST(FailureRetryDelay, ATaskWithoutARetryPolicyIsNotRetried) {
  EXPECT_EQ(fluid::failure_retry_delay(std::nullopt, 0, exception_of<std::runtime_error>()), std::nullopt);
}

// Ports test_retry.py::test_failure_retry_returns_copy_on_first_attempt (A):
// the decision is the delay; the requeued run's fields are the broker's
// (conformance suite).
TEST(FailureRetryDelay, TheFirstFailureIsRetriedAfterWait) {
  EXPECT_EQ(fluid::failure_retry_delay(policy(2u, 500ms, 2.0), 0, exception_of<std::runtime_error>()), 500ms);
}

// Ports test_retry.py::test_failure_retry_increments_attempt (A).
TEST(FailureRetryDelay, TheSecondRetryBacksOff) {
  EXPECT_EQ(fluid::failure_retry_delay(policy(2u, 500ms, 2.0), 1, exception_of<std::runtime_error>()), 1s);
}

// Ports test_retry.py::test_failure_retry_exhausted_returns_none (A).
TEST(FailureRetryDelay, ARunRetriedMaxAttemptsTimesIsNotRetriedAgain) {
  EXPECT_EQ(fluid::failure_retry_delay(policy(2u, 500ms, 2.0), 2, exception_of<std::runtime_error>()), std::nullopt);
}

// Ports test_retry.py::test_failure_retry_unmatched_exception_returns_none (A).
TEST(FailureRetryDelay, AFailureThePolicyDoesNotMatchIsNotRetried) {
  auto p = policy(1u, 1s);
  p.retry_if = fluid::retry_on<std::invalid_argument>();
  EXPECT_EQ(fluid::failure_retry_delay(p, 0, exception_of<std::runtime_error>("wrong type")), std::nullopt);
}

// Ports test_retry.py::test_failure_retry_matched_exception_returns_copy (A).
TEST(FailureRetryDelay, AFailureThePolicyMatchesIsRetried) {
  auto p = policy(1u, 1s);
  p.retry_if = fluid::retry_on<std::invalid_argument>();
  EXPECT_EQ(fluid::failure_retry_delay(p, 0, exception_of<std::invalid_argument>("right type")), 1s);
}

// Ports test_retry.py::test_failure_retry_unlimited_attempts (A).
TEST(FailureRetryDelay, WithoutMaxAttemptsARunIsRetriedForever) {
  EXPECT_EQ(fluid::failure_retry_delay(policy(std::nullopt, 0ms), 999, exception_of<std::runtime_error>()), 0ms);
  EXPECT_EQ(fluid::failure_retry_delay(policy(std::nullopt, 0ms), std::numeric_limits<unsigned>::max(),
                                       exception_of<std::runtime_error>()),
            0ms);
}

// Ports test_retry.py::test_rate_limit_retry_returns_copy_when_at_limit (A).
TEST(RateLimitRetryDelay, ARunAtTheLimitIsTriedAgainAfterWait) {
  EXPECT_EQ(fluid::rate_limit_retry_delay(policy(2u, 500ms), 0), 500ms);
}

// Ports test_retry.py::test_rate_limit_retry_exhausted_sets_rate_limited_state (A).
TEST(RateLimitRetryDelay, ARunOutOfRateLimitRetriesEndsRateLimited) {
  EXPECT_EQ(fluid::rate_limit_retry_delay(policy(2u, 500ms), 2), std::nullopt);
}

// Ports test_retry.py::test_rate_limit_no_retry_policy_sets_rate_limited_state (A).
TEST(RateLimitRetryDelay, ARunWithoutARateLimitPolicyEndsRateLimited) {
  EXPECT_EQ(fluid::rate_limit_retry_delay(std::nullopt, 0), std::nullopt);
}

TEST(RateLimitRetryDelay, IgnoresRetryIf) {
  auto p = policy(1u, 1s);
  p.retry_if = [](const std::exception_ptr&) { return false; };
  EXPECT_EQ(fluid::rate_limit_retry_delay(p, 0), 1s);
}

TEST(CheckRetryPolicy, AcceptsTheDefaultsAndAZeroWait) {
  EXPECT_NO_THROW(fluid::check_retry_policy(RetryPolicy{}, "p"));
  EXPECT_NO_THROW(fluid::check_retry_policy(policy(3u, 0ms), "p"));
  EXPECT_NO_THROW(fluid::check_retry_policy(policy(3u, 1s, 0.5), "p"));
}

TEST(CheckRetryPolicy, RejectsANegativeWaitNamingThePolicy) {
  const auto message = check_error(policy(3u, -5ms));
  EXPECT_NE(message.find("task 'retryable' retry"), std::string::npos) << message;
  EXPECT_NE(message.find("wait must not be negative, got -5ms"), std::string::npos) << message;
}

TEST(CheckRetryPolicy, RejectsAMaxWaitBelowWait) {
  auto p = policy(3u, 2s);
  p.max_wait = 1s;
  const auto message = check_error(p);
  EXPECT_NE(message.find("max_wait 1000ms is less than wait 2000ms"), std::string::npos) << message;
}

TEST(CheckRetryPolicy, RejectsABackoffThatIsNotPositiveAndFinite) {
  for (const double backoff :
       {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(backoff);
    const auto message = check_error(policy(3u, 1s, backoff));
    EXPECT_NE(message.find("backoff must be a positive finite number"), std::string::npos) << message;
  }
}
