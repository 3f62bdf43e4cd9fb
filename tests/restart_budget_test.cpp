// RestartBudget: the arithmetic of supervision on plain numbers, no clock.

#include <fluid/detail/restart_budget.hpp>

#include <gtest/gtest.h>

#include <vector>

using namespace fluid;
using namespace std::chrono_literals;
using detail::RestartBudget;
using TimePoint = RestartBudget::time_point;

namespace {

const TimePoint t0 = TimePoint{} + 1h;

/// The pauses of `stops` stops, each coming `uptime` after the restart before it.
std::vector<std::chrono::milliseconds> pauses(const RestartIntensity& intensity, const Backoff& backoff, int stops,
                                              std::chrono::milliseconds uptime = 0ms) {
  RestartBudget budget;
  std::vector<std::chrono::milliseconds> out;
  auto now = t0;
  auto started = t0;
  for (int i = 0; i < stops; ++i) {
    now = started + uptime;
    const auto decision = budget.on_stop(intensity, backoff, now, started, 0.0);
    if (decision.give_up) break;
    out.push_back(decision.delay);
    started = now + decision.delay;
  }
  return out;
}

}  // namespace

TEST(RestartBudget, PausesGrowByTheMultiplierUpToTheMax) {
  const Backoff backoff{.initial = 100ms, .max = 1000ms, .multiplier = 2, .jitter = 0};
  EXPECT_EQ(pauses({.max_restarts = RestartIntensity::unlimited}, backoff, 6),
            (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms}));
}

TEST(RestartBudget, TheMaxIsReachedWhateverTheIntensityPeriod) {
  // "Retry for ever, at most every minute": the period (5 s) is shorter than
  // the pauses, which used to keep the exponent near zero.
  const Backoff backoff{.initial = 1s, .max = 60s, .multiplier = 2, .jitter = 0};
  const RestartIntensity forever{.max_restarts = RestartIntensity::unlimited, .period = 5s};
  EXPECT_EQ(pauses(forever, backoff, 9),
            (std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s, 60s}));
}

TEST(RestartBudget, AHealthyRunStartsTheBackoffAfresh) {
  const Backoff backoff{.initial = 100ms, .max = 10s, .multiplier = 2, .jitter = 0, .reset_after = 30s};
  const RestartIntensity forever{.max_restarts = RestartIntensity::unlimited};
  RestartBudget budget;
  EXPECT_EQ(budget.on_stop(forever, backoff, t0, t0, 0).delay, 100ms);
  EXPECT_EQ(budget.on_stop(forever, backoff, t0 + 1s, t0 + 900ms, 0).delay, 200ms);
  EXPECT_EQ(budget.on_stop(forever, backoff, t0 + 40s, t0 + 9s, 0).delay, 100ms) << "31 s of uptime is healthy";
}

TEST(RestartBudget, GivesUpOnTheStopPastTheIntensityWithinThePeriod) {
  RestartBudget budget;
  const RestartIntensity intensity{.max_restarts = 2, .period = 10s};
  const Backoff backoff{.initial = 0ms, .max = 0ms, .jitter = 0};
  EXPECT_FALSE(budget.on_stop(intensity, backoff, t0, t0, 0).give_up);
  EXPECT_FALSE(budget.on_stop(intensity, backoff, t0 + 1s, t0, 0).give_up);
  const auto third = budget.on_stop(intensity, backoff, t0 + 2s, t0, 0);
  EXPECT_TRUE(third.give_up);
  EXPECT_EQ(third.stops_in_window, 3u);
}

TEST(RestartBudget, StopsOlderThanThePeriodAreForgotten) {
  RestartBudget budget;
  const RestartIntensity intensity{.max_restarts = 1, .period = 10s};
  const Backoff backoff{.initial = 0ms, .max = 0ms, .jitter = 0};
  EXPECT_FALSE(budget.on_stop(intensity, backoff, t0, t0, 0).give_up);
  EXPECT_FALSE(budget.on_stop(intensity, backoff, t0 + 11s, t0, 0).give_up);
  EXPECT_TRUE(budget.on_stop(intensity, backoff, t0 + 12s, t0, 0).give_up);
}

TEST(RestartBudget, AnUnlimitedIntensityNeverGivesUp) {
  const Backoff backoff{.initial = 0ms, .max = 0ms, .jitter = 0};
  EXPECT_EQ(pauses({.max_restarts = RestartIntensity::unlimited, .period = 1h}, backoff, 10'000).size(), 10'000u);
}

TEST(RestartBudget, JitterSpreadsThePauseByItsFractionOfTheDraw) {
  const Backoff backoff{.initial = 1000ms, .max = 1000ms, .multiplier = 1, .jitter = 0.2};
  const RestartIntensity forever{.max_restarts = RestartIntensity::unlimited};
  RestartBudget budget;
  EXPECT_EQ(budget.on_stop(forever, backoff, t0, t0, 1.0).delay, 1200ms);
  EXPECT_EQ(budget.on_stop(forever, backoff, t0, t0, -1.0).delay, 800ms);
  EXPECT_EQ(budget.on_stop(forever, backoff, t0, t0, 0.5).delay, 1100ms);
}

TEST(RestartBudget, BadOptionsAreRejectedNamingTheGroup) {
  const RestartIntensity ok{};
  for (const Backoff bad : {Backoff{.initial = -1ms}, Backoff{.initial = 2s, .max = 1s}, Backoff{.multiplier = 0.5},
                            Backoff{.jitter = 1.5}, Backoff{.reset_after = -1ms}}) {
    try {
      RestartBudget::validate(ok, bad, "crew");
      ADD_FAILURE() << "accepted";
    } catch (const FluidError& e) {
      EXPECT_NE(std::string(e.what()).find("group crew"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(RestartBudget::validate({.period = 0ms}, {}, "crew"), FluidError);
  EXPECT_NO_THROW(RestartBudget::validate(ok, {}, "crew"));
}
