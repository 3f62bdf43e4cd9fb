#include "fluid/detail/restart_budget.hpp"

#include "runtime/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace fluid::detail {

void RestartBudget::validate(const RestartIntensity& intensity, const Backoff& backoff, std::string_view group) {
  const auto fail = [group](const std::string& what) { throw FluidError("group " + std::string(group) + ": " + what); };
  if (intensity.period.count() <= 0) fail("restart_intensity.period must be positive");
  if (backoff.initial.count() < 0) fail("backoff.initial must not be negative");
  if (backoff.max < backoff.initial) fail("backoff.max must not be below backoff.initial");
  if (!(backoff.multiplier >= 1.0) || !std::isfinite(backoff.multiplier)) fail("backoff.multiplier must be >= 1");
  if (!(backoff.jitter >= 0.0 && backoff.jitter <= 1.0)) fail("backoff.jitter must be within [0, 1]");
  if (backoff.reset_after.count() < 0) fail("backoff.reset_after must not be negative");
}

RestartBudget::Decision RestartBudget::on_stop(const RestartIntensity& intensity, const Backoff& backoff,
                                               time_point now, time_point started, double draw) {
  Decision decision;
  if (intensity.max_restarts != RestartIntensity::unlimited) {
    std::erase_if(recent_, [&](time_point at) { return now - at > intensity.period; });
    decision.stops_in_window = recent_.size() + 1;
    if (recent_.size() >= intensity.max_restarts) {
      decision.give_up = true;
      return decision;
    }
    recent_.push_back(now);
  }
  if (now - started >= backoff.reset_after) consecutive_ = 0;
  ++consecutive_;
  // The attempt counts stops since the last healthy run, not those within
  // the intensity period, so the pause reaches `max` whatever the period.
  decision.delay = backoff_delay(backoff, consecutive_, draw);
  return decision;
}

}  // namespace fluid::detail
