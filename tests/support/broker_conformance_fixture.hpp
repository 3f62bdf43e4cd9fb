#pragma once
// The conformance suite's fixture and helpers; the suite itself, what a
// broker's test file includes, is broker_conformance.hpp.

#include <fluid/fluid.hpp>
#include <fluid/tasks.hpp>

#include "support/thrown.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace fluid::test {

using namespace std::chrono_literals;

/// A broker implementation under the suite.
struct BrokerTarget {
  std::string name;  ///< the instantiation's label: "memory", "redis"
  /// The URL of namespace `ns` (1 to 40 of [a-z0-9-]), with `query` (""
  /// or "key=value&...") added to the URL's own query.
  std::function<std::string(const std::string& ns, const std::string& query)> url;
  /// Non-empty: why the target cannot run here; its tests skip with that message.
  std::function<std::string()> unavailable = [] { return std::string(); };
};

/// gtest prints a target by its name.
void PrintTo(const BrokerTarget& target, std::ostream* out);

/// The test-name suffix of a target (INSTANTIATE_TEST_SUITE_P's last argument).
std::string target_name(const ::testing::TestParamInfo<BrokerTarget>& info);

/// Bounds every wait: never reached on a healthy run, even a slow sanitized
/// one, and short enough that a lost wake-up fails instead of hanging.
inline constexpr std::chrono::milliseconds generous = 10s;
/// A lease no test outlives by accident.
inline constexpr std::chrono::milliseconds long_lease = 60s;
/// A lease a test lets expire.
inline constexpr std::chrono::milliseconds short_lease = 100ms;

class BrokerConformance : public ::testing::TestWithParam<BrokerTarget> {
 protected:
  void SetUp() override;

  /// The URL of this test's namespace with `query` added.
  std::string url(const std::string& query = "") const;
  /// A new broker object on this test's namespace, open: as if in another process.
  Task<std::shared_ptr<TaskBroker>> open_broker(std::string query = "");
  /// Runs `body` on a fresh event loop, then closes every broker it opened.
  void run(const std::function<Task<>()>& body);

 private:
  std::string namespace_;
  std::vector<std::shared_ptr<TaskBroker>> opened_;
};

// ------------------------------------------------------------------ runs and requests

/// A run of `task` with a new id, as TaskManager::create_task_run makes it.
TaskRun make_run(const std::string& task, TaskPriority priority = TaskPriority::medium);
/// make_run() with the given id.
TaskRun make_run_with_id(const std::string& task, const std::string& id, TaskPriority priority = TaskPriority::medium);
/// A registration of `task` with its limit and rate-limit policy.
TaskRegistration registration(const std::string& task, std::size_t max_concurrency = 0,
                              std::optional<RetryPolicy> rate_limit_retry = {});
/// A claim of up to `max_runs` runs of `tasks` from every queue, long lease, no wait.
ClaimRequest claim_of(std::vector<std::string> tasks, std::size_t max_runs = 1);
/// claim_of() waiting up to `generous`.
ClaimRequest waiting_claim_of(std::vector<std::string> tasks, std::size_t max_runs = 1);
/// The one run claimed (within `generous`) from `request` (waiting_claim_of(task) by default).
Task<std::pair<TaskRun, Lease>> claim_one(TaskBroker& broker, ClaimRequest request);
Task<std::pair<TaskRun, Lease>> claim_one(TaskBroker& broker, std::string task);

// Coroutine bodies build lists with these (variadic: g++ 12 rejects a braced
// list inside a coroutine, "array used as initializer", and miscompiles a
// braced temporary passed to a coroutine call; docs/workers.md).
template <class T, class... Items>
std::vector<T> list_of(Items&&... items) {
  std::vector<T> list;
  list.reserve(sizeof...(items));
  (list.emplace_back(std::forward<Items>(items)), ...);
  return list;
}
template <class... Items>
std::vector<std::string> names(Items&&... items) {
  return list_of<std::string>(std::forward<Items>(items)...);
}
template <class... Items>
std::vector<TaskRegistration> registrations(Items&&... items) {
  return list_of<TaskRegistration>(std::forward<Items>(items)...);
}
template <class... Items>
std::vector<TaskPriority> priorities(Items... items) {
  return list_of<TaskPriority>(items...);
}
template <class... Items>
std::vector<Lease> leases(Items&&... items) {
  return list_of<Lease>(std::forward<Items>(items)...);
}
std::vector<TaskPriority> all_priorities();

/// Enqueues a run of `task` under each id, at `priority`.
Task<> enqueue_each(TaskBroker& broker, std::vector<std::string> ids, std::string task = "a",
                    TaskPriority priority = TaskPriority::medium);
/// A rate-limit (or retry) policy of fixed delay `wait`.
RetryPolicy fixed_policy(std::optional<unsigned> max_attempts, std::chrono::milliseconds wait);

Outcome outcome(TaskState state, std::string error = "");
Outcome retry_after(std::chrono::milliseconds delay, std::string error = "boom");
Outcome released();

// ------------------------------------------------------------------ time and events

/// Lets the coroutines started with this one run up to their first wait (on
/// one thread, `a && b` starts `a`, then `b` once `a` suspends).
Task<> let_others_run();
/// Waits until the broker's clock is past `t` (a timed wait: nothing to poll).
Task<> wait_past(TaskBroker& broker, TimePoint t);
/// Reads `n` events from `cursor` on (advancing it), each within `generous`.
/// @throws std::runtime_error when they do not come.
Task<std::vector<TaskEvent>> read_events(TaskBroker& broker, std::string& cursor, std::size_t n);
/// The feed's cursor of now: reading from it returns what comes next.
Task<std::string> feed_now(TaskBroker& broker);
/// Every event already in the feed after `cursor` (advancing it).
Task<std::vector<TaskEvent>> drain_events(TaskBroker& broker, std::string& cursor);

// ------------------------------------------------------------------ reading results

/// The one element of `items`. @throws std::runtime_error if there is not exactly one.
template <class T>
const T& only(const std::vector<T>& items) {
  if (items.size() != 1) throw std::runtime_error("expected exactly one, got " + std::to_string(items.size()));
  return items.front();
}
std::vector<std::string> ids_of(const std::vector<TaskRun>& runs);
std::vector<std::string> ids_of(const std::vector<std::pair<TaskRun, Lease>>& claimed);
std::vector<TaskState> states_of(const std::vector<TaskRun>& runs);
/// "<state>:<id>" per state event ("failure+requeued:<id>" for a requeued
/// attempt), "abort:<id>" per abort event.
std::vector<std::string> describe(const std::vector<TaskEvent>& events);
/// The run's value when present. @throws std::runtime_error for nullopt.
TaskRun present(const std::optional<TaskRun>& run);

}  // namespace fluid::test
