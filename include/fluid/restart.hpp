#pragma once
/// @file
/// Supervision of a Workers group's children: restart policies, strategies,
/// intensity, backoff, the give-up error and the events supervision reports.

#include "fluid/errors.hpp"

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

namespace fluid {

class Worker;

/// When a supervised child is replaced by a fresh instance (OTP's restart types).
enum class RestartPolicy {
  never,       ///< its stop stops the group (aio-fluid's behaviour, the default for add_workers)
  on_failure,  ///< restarted when it fails; a clean return just ends it (OTP transient)
  always,      ///< restarted whenever it stops while the group runs (OTP permanent)
};

/// "never", "on_failure" or "always".
std::string_view to_string(RestartPolicy policy) noexcept;

/// Which supervised children a restart takes along (OTP's strategies).
/// Children added with add_workers() or add_one_shot() have no factory and
/// are never restarted by a sibling's stop.
enum class RestartStrategy {
  one_for_one,   ///< only the child that stopped (the default)
  one_for_all,   ///< every supervised child is stopped, then all restart in order
  rest_for_one,  ///< it and the supervised children added after it
};

/// "one_for_one", "one_for_all" or "rest_for_one".
std::string_view to_string(RestartStrategy strategy) noexcept;

/// Makes a fresh, never started worker for each (re)start of a supervised child.
using WorkerFactory = std::function<std::shared_ptr<Worker>()>;

/// At most `max_restarts` restarts of one child within `period`; one more and
/// the group gives up and fails with RestartLimitExceeded (OTP intensity/period).
struct RestartIntensity {
  /// No limit: restart for ever, paced by the Backoff alone.
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();
  std::size_t max_restarts = 3;
  std::chrono::milliseconds period{5'000};
};

/// The pause before a restart: initial * multiplier^(n - 1), n counting the
/// child's stops since it last ran healthily, capped at `max` (reached
/// whatever the intensity period), then spread by +/- jitter (a fraction) so
/// that children failing together do not restart in lockstep. "Retry for
/// ever, at most every minute": {.initial = 1s, .max = 60s} with
/// RestartIntensity::unlimited.
struct Backoff {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{10'000};
  double multiplier = 2.0;
  double jitter = 0.2;
  /// An instance that ran at least this long before it stopped was healthy:
  /// the next pause is `initial` again (suture's failure decay).
  std::chrono::milliseconds reset_after{30'000};
};

/// Draws the spread of one backoff pause: a number in [-1, 1]; the pause is
/// multiplied by 1 + Backoff::jitter * draw. Called on the group's executor.
using JitterSource = std::function<double()>;

/// Uniformly random draws (the default).
JitterSource random_jitter();
/// Always 0: pauses exactly as the Backoff says (suture's NoJitter), for tests.
JitterSource no_jitter();

/// A group gave up on a child that stopped more often than its restart
/// intensity allows. The group fails with it; wait_for_shutdown() rethrows it.
struct RestartLimitExceeded : FluidError {
  RestartLimitExceeded(const std::string& group, std::string child, std::size_t stops, std::chrono::milliseconds window,
                       std::exception_ptr last_error);
  std::string child;                 ///< the child's key in its group
  std::size_t stops;                 ///< its stops counted within the window, the last one included
  std::chrono::milliseconds window;  ///< RestartIntensity::period
  std::exception_ptr last_error;     ///< its last failure; null if it last stopped cleanly
};

/// Something a group's supervision did, told to its supervision listeners.
struct SupervisionEvent {
  enum class Kind {
    restart_scheduled,  ///< a child stopped; a fresh instance comes after `delay`
    restarted,          ///< the fresh instance replaced the old one and is being started
    gave_up,            ///< past its restart intensity: the group fails (RestartLimitExceeded)
  };
  Kind kind;
  std::string group;                   ///< the group's name
  std::string child;                   ///< the child's key in the group (as in status())
  std::size_t restarts = 0;            ///< the child's restarts so far (restarted: this one included)
  std::chrono::milliseconds delay{0};  ///< restart_scheduled: the pause before the restart
  std::exception_ptr error;            ///< the failure behind it; null after a clean stop
};

/// "restart_scheduled", "restarted" or "gave_up".
std::string_view to_string(SupervisionEvent::Kind kind) noexcept;

/// Told every supervision event of a group, on the group's executor, never
/// under a lock of fluid's: it may call back into the group. Keep it quick;
/// exceptions it throws are logged and ignored.
using SupervisionListener = std::function<void(const SupervisionEvent&)>;

}  // namespace fluid
