#pragma once
/// @file
/// RestartBudget: how one supervised child's restarts are paced, and when
/// its group gives up on it.

#include "fluid/restart.hpp"

#include <chrono>
#include <cstddef>
#include <string_view>
#include <vector>

namespace fluid::detail {

/// The arithmetic of supervision, apart from any loop, timer or lock: told
/// each stop of a child with the time (from a SupervisionClock) and a jitter
/// draw, it answers "restart after this pause" or "give up". Tested on plain
/// numbers; a group keeps one per supervised child.
class RestartBudget {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  /// What to do about one stop.
  struct Decision {
    bool give_up = false;
    /// The pause before the restart (zero when giving up).
    std::chrono::milliseconds delay{0};
    /// Stops counted within the intensity period, this one included.
    std::size_t stops_in_window = 0;
  };

  /// Throws FluidError naming `group` for a bad intensity or backoff.
  static void validate(const RestartIntensity& intensity, const Backoff& backoff, std::string_view group);

  /// The child stopped at `now`; its instance had started at `started`.
  /// `draw` (in [-1, 1]) spreads the pause by the backoff's jitter.
  Decision on_stop(const RestartIntensity& intensity, const Backoff& backoff, time_point now, time_point started,
                   double draw);

 private:
  // Restarts within the intensity period, oldest first. A vector: an empty
  // std::deque allocates ~600 bytes.
  std::vector<time_point> recent_;
  // Stops since the child last ran healthily (Backoff::reset_after).
  std::size_t consecutive_ = 0;
};

}  // namespace fluid::detail
