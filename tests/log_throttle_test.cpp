// detail::LogThrottle: a repeated log line at most once per interval.

#include <fluid/detail/log_throttle.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using fluid::detail::LogThrottle;

TEST(LogThrottle, TheFirstOccurrenceIsLoggedWithNothingHeldBack) {
  LogThrottle throttle(1s);
  EXPECT_EQ(throttle.admit(LogThrottle::Clock::time_point{} + 5s), 0u);
}

TEST(LogThrottle, RepeatsWithinTheIntervalAreHeldAndCountedInTheNextLine) {
  LogThrottle throttle(1s);
  const auto t0 = LogThrottle::Clock::time_point{} + 100s;
  ASSERT_TRUE(throttle.admit(t0));
  int held = 0;
  for (auto t = t0 + 100ms; t < t0 + 1s; t += 100ms) {
    if (!throttle.admit(t)) ++held;
  }
  EXPECT_EQ(held, 9);
  EXPECT_EQ(throttle.admit(t0 + 1s), 9u);
  EXPECT_EQ(throttle.admit(t0 + 2500ms), 0u);
}

TEST(LogThrottle, TenAFailuresASecondForFiveSecondsGiveFiveLines) {
  LogThrottle throttle(1s);
  const auto t0 = LogThrottle::Clock::time_point{} + 100s;
  int logged = 0;
  for (int i = 0; i < 50; ++i) {
    if (throttle.admit(t0 + i * 100ms)) ++logged;
  }
  EXPECT_EQ(logged, 5);
}
