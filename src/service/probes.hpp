#pragma once
// The answers to orchestrators' probes: liveness, readiness, startup, and
// the application's checks behind readiness.

#include "fluid/health.hpp"
#include "fluid/http.hpp"
#include "fluid/worker.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace fluid::detail {

/// An application check under its name.
struct NamedCheck {
  std::string name;
  HealthCheck check;
};

/// What the checks said: {"<name>": {"health", "message"}}, and whether none is unhealthy.
struct CheckReport {
  nlohmann::json results = nlohmann::json::object();
  bool passing = true;
};

/// Runs each check in turn, each within `timeout`; one that throws or
/// overruns is unhealthy, its error (or the timeout) its message.
[[nodiscard]] Task<CheckReport> run_checks(std::vector<NamedCheck> checks, std::chrono::milliseconds timeout);

/// Liveness: 503 only when the tree failed (a failure no restart answers)
/// or the target's executor does not run a handler within `loop_timeout`;
/// 200 while starting, draining or backing off. Calls no user code.
[[nodiscard]] Task<HttpResponse> liveness(Worker& target, std::chrono::milliseconds loop_timeout);

/// Readiness: 200 only when the target and every worker of its tree that
/// should run are ready (a finished one-shot child is) and no check is
/// unhealthy; 503 from a stop request on, during a supervised child's
/// backoff, while a check fails.
HttpResponse readiness(Worker& target, const CheckReport& checks);

/// Startup: 503 until the target's startup() has returned, 200 from then on.
HttpResponse startup(Worker& target);

}  // namespace fluid::detail
