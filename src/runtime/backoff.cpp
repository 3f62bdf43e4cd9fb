#include "runtime/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace fluid::detail {

std::chrono::milliseconds backoff_delay(const Backoff& backoff, std::size_t attempt, double draw) {
  const double exponent = static_cast<double>(std::max<std::size_t>(attempt, 1) - 1);
  const double base = static_cast<double>(backoff.initial.count()) * std::pow(backoff.multiplier, exponent);
  // After enough attempts the power overflows (0 * inf is NaN): that is the max too.
  const double max = static_cast<double>(backoff.max.count());
  const double capped = std::isfinite(base) ? std::min(base, max) : max;
  const double spread = capped * (1.0 + backoff.jitter * std::clamp(draw, -1.0, 1.0));
  return std::chrono::milliseconds(std::llround(std::max(spread, 0.0)));
}

std::chrono::milliseconds backoff_delay(const Backoff& backoff, std::size_t attempt) {
  if (backoff.jitter <= 0.0) return backoff_delay(backoff, attempt, 0.0);
  thread_local std::mt19937 random{std::random_device{}()};
  return backoff_delay(backoff, attempt, std::uniform_real_distribution<double>(-1.0, 1.0)(random));
}

}  // namespace fluid::detail
