#pragma once
// Supervision of a group's children: what a supervised child carries, what
// its stop means, and who hears about it. The group (workers.cpp) owns the
// loop, the locks and the children; this is the policy and arithmetic.

#include "fluid/detail/restart_budget.hpp"
#include "fluid/restart.hpp"
#include "fluid/state_listener.hpp"
#include "fluid/supervision_clock.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fluid::detail {

/// A group's supervision settings, fixed when it is constructed.
struct SupervisionOptions {
  RestartIntensity intensity;
  Backoff backoff;
  RestartStrategy strategy = RestartStrategy::one_for_one;
  std::shared_ptr<SupervisionClock> clock;  // never null
  JitterSource jitter;                      // never empty
};

/// What a supervised child's stop calls for.
enum class StopAnswer {
  restart,     ///< a fresh instance after `delay`
  finish,      ///< it ends, and the group goes on (on_failure after a clean stop)
  give_up,     ///< past its intensity: the group fails with RestartLimitExceeded
  stop_group,  ///< policy never: the group stops
};

/// What a supervised child carries besides its worker. Kept apart so that a
/// plain child costs its group no more than a pointer for it.
struct Supervision {
  WorkerFactory factory;
  RestartPolicy policy = RestartPolicy::never;
  std::string name;  // the first instance's: the slot's key stays, whatever later ones are called
  std::size_t restarts = 0;
  std::string last_error;
  RestartBudget budget;
  SupervisionClock::time_point started_at{};               // when the current instance was started
  std::optional<SupervisionClock::time_point> restart_at;  // in backoff until then

  /// Decides about the current instance's stop at `now` (`failed`: it
  /// failed), and for a restart sets restart_at. `decision` tells the pause.
  StopAnswer on_stop(bool failed, const SupervisionOptions& options, SupervisionClock::time_point now,
                     RestartBudget::Decision& decision);
};

/// The supervision listeners of one group. Thread-safe; listeners are called
/// outside its lock.
class SupervisionListeners {
 public:
  SupervisionListeners();
  Subscription add(SupervisionListener listener);
  /// Tells every listener each of `events`, in order; what one throws is logged.
  void emit(const std::vector<SupervisionEvent>& events) const;

 private:
  struct Shared;  // with the subscriptions, which may outlive the group
  std::shared_ptr<Shared> shared_;
};

}  // namespace fluid::detail
