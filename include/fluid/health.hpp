#pragma once
/// @file
/// Application health checks: named probes of what the workers' states cannot tell.

#include "fluid/task.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace fluid {

/// How a check found what it checks, graded (userver's kOk / kFallback / kFatal).
enum class Health {
  healthy,    ///< works as it should
  degraded,   ///< works, worse than it should (a replica down, a cache cold): still ready
  unhealthy,  ///< does not work: the service is not ready
};

/// "healthy", "degraded" or "unhealthy".
std::string_view to_string(Health health);

/// What one run of a check found.
struct CheckResult {
  Health health = Health::healthy;
  std::string message;  ///< for people: what was found ("replica lag 12 s")
};

/// A check an application registers on its StatusServer (add_check()): runs
/// for each /ready request (on the server's executor) and each status() of
/// the server (on the caller's), within the server's check_timeout. One that
/// throws or overruns counts as unhealthy, with the error (or the timeout)
/// as its message.
using HealthCheck = std::function<Task<CheckResult>()>;

}  // namespace fluid
