#include "runtime/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace fluid::detail {

namespace {

double jitter_factor(double jitter) {
  if (jitter <= 0.0) return 1.0;
  thread_local std::mt19937 random{std::random_device{}()};
  return 1.0 + std::uniform_real_distribution<double>(-jitter, jitter)(random);
}

}  // namespace

std::chrono::milliseconds backoff_delay(const Backoff& backoff, std::size_t attempt) {
  const double exponent = static_cast<double>(std::max<std::size_t>(attempt, 1) - 1);
  const double base = static_cast<double>(backoff.initial.count()) * std::pow(backoff.multiplier, exponent);
  const double capped = std::min(base, static_cast<double>(backoff.max.count()));
  return std::chrono::milliseconds(std::llround(capped * jitter_factor(backoff.jitter)));
}

}  // namespace fluid::detail
