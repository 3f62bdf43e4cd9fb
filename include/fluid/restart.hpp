#pragma once
/// @file
/// Restart policies for supervised children of a Workers group.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
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

/// Makes a fresh, never started worker for each (re)start of a supervised child.
using WorkerFactory = std::function<std::shared_ptr<Worker>()>;

/// At most `max_restarts` restarts of one child within `period`; one more and
/// the group gives up and fails, naming the child (OTP intensity/period).
struct RestartIntensity {
  std::size_t max_restarts = 3;
  std::chrono::milliseconds period{5'000};
};

/// The pause before a restart: initial * multiplier^(recent restarts - 1),
/// capped at `max`, then spread by +/- jitter (a fraction) so that children
/// failing together do not restart in lockstep.
struct Backoff {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{10'000};
  double multiplier = 2.0;
  double jitter = 0.2;
};

}  // namespace fluid
