#pragma once
/// @file
/// LogThrottle: a repeated log line at most once per interval, with a count of the rest.

#include <chrono>
#include <cstdint>
#include <optional>

namespace fluid::detail {

/// Keeps a line that may repeat many times a second (accept failing at the
/// file-descriptor limit, connections refused) from flooding the log: the
/// first goes through, later ones at most once per interval, each saying how
/// many were held back since the last. Not thread-safe: one owner's executor.
class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(Clock::duration interval = std::chrono::seconds(1)) noexcept : interval_(interval) {}

  /// Whether to log an occurrence at `now`: the number of occurrences held
  /// back since the last one logged (0 for the first), or nullopt to hold this one.
  std::optional<std::uint64_t> admit(Clock::time_point now = Clock::now()) noexcept {
    if (last_ && now - *last_ < interval_) {
      ++held_;
      return std::nullopt;
    }
    last_ = now;
    const auto held = held_;
    held_ = 0;
    return held;
  }

 private:
  Clock::duration interval_;
  std::optional<Clock::time_point> last_;
  std::uint64_t held_ = 0;
};

}  // namespace fluid::detail
