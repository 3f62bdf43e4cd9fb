#pragma once
/// @file
/// TaskBroker: where runs live. Every state change of a run is one atomic
/// broker call, so the rules that must hold across processes (leases,
/// fencing, max_concurrency, schedule slots, retries, aborts) live in one
/// place with one clock.

#include "fluid/task.hpp"
#include "fluid/tasks/retry_policy.hpp"
#include "fluid/tasks/task_run.hpp"
#include "fluid/tasks/task_state.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluid {

/// Proof that a consumer holds a run.
struct Lease {
  std::string run_id;
  std::uint64_t token = 0;  ///< fencing token: strictly greater than every token given before
  TimePoint expires;        ///< broker clock
};

/// What claims need to know about a task.
struct TaskRegistration {
  TaskInfo info;  ///< static part; the broker keeps enabled and last_run_*
  std::size_t max_concurrency = 0;
  std::optional<RetryPolicy> rate_limit_retry;
};

/// A consumer asking for work.
struct ClaimRequest {
  std::string manager_id;
  std::vector<TaskPriority> queues;  ///< in this order
  std::vector<std::string> tasks;    ///< only runs of these tasks
  std::size_t max_runs = 1;
  std::chrono::milliseconds lease{15'000};
  std::chrono::milliseconds wait{0};  ///< wait up to this long for a claimable run (event driven)
};

/// What a claim did.
struct ClaimResult {
  std::vector<std::pair<TaskRun, Lease>> claimed;  ///< now running
  std::vector<TaskRun> settled;                    ///< ended by this claim: aborted (disabled), rate_limited
  std::optional<TimePoint> next_due;               ///< earliest delayed run of these tasks
};

/// How an attempt ended, as the consumer saw it.
struct Outcome {
  TaskState state = TaskState::success;               ///< success, failure, aborted or interrupted
  std::string error;                                  ///< failure message or abort reason
  std::optional<std::chrono::milliseconds> retry_in;  ///< failure: queue again after this
  bool requeue = false;                               ///< interrupted: release (queue again now)
};

/// What a renewal found.
enum class LeaseStatus { held, lost, abort_requested };
struct LeaseState {
  LeaseStatus status = LeaseStatus::held;
  TimePoint expires;
  std::string abort_reason;
};

/// One entry of the broker's event feed, in commit order.
struct TaskEvent {
  std::string id;    ///< the feed's cursor of this event
  std::string kind;  ///< "state" or "abort"
  TaskRun run;
};
struct EventBatch {
  std::vector<TaskEvent> events;
  std::string cursor;  ///< pass to the next read_events()
  bool gap = false;    ///< retention dropped events after the cursor given
};

/// The broker interface both brokers implement; a third one plugs in here
/// and is correct when it passes the conformance suite.
///
/// Guarantees (each broker): every call is one atomic step (a change and its
/// event together, so the feed is the commit order); every time stamped or
/// compared is the broker's own clock; enqueue, renew, finish,
/// request_abort, set_enabled, register_tasks, schedule_anchor, fire_slot and
/// set_manager_status may be repeated after a lost reply; claim and
/// clear_queue are not.
class TaskBroker {
 public:
  virtual ~TaskBroker();
  /// The URL, credentials removed.
  virtual std::string url() const = 0;
  /// The URL's ?queues=, in order (default high, medium, low).
  virtual std::vector<TaskPriority> queues() const = 0;

  /// @throws BrokerUnavailableError after the connect timeout.
  virtual Task<> open() = 0;
  virtual Task<> close() = 0;
  /// The broker's clock.
  virtual Task<TimePoint> now() = 0;

  /// Stores static info, limits and the rate-limit policy; keeps enabled and
  /// last_run_*; new tasks start enabled.
  virtual Task<> register_tasks(std::vector<TaskRegistration> tasks) = 0;
  /// Those tasks (every registered one when empty), with the dynamic fields.
  virtual Task<std::vector<TaskInfo>> tasks_info(std::vector<std::string> names) = 0;
  /// @returns the updated info.
  virtual Task<TaskInfo> set_enabled(std::string task, bool enabled) = 0;

  /// A new id is stored queued (delayed when execute_after is in the future)
  /// with event `queued`; a known id is returned as it is, with false.
  virtual Task<std::pair<TaskRun, bool>> enqueue(TaskRun run) = 0;
  /// Promotes due delayed runs, then walks the queues in order, FIFO: a
  /// disabled task's run ends aborted, one at max_concurrency is rate-limit
  /// retried or ends rate_limited (both into settled), the others are leased
  /// until max_runs. With nothing claimed and wait > 0, waits (event driven)
  /// for an enqueue, a release or the next due time.
  virtual Task<ClaimResult> claim(ClaimRequest request) = 0;
  /// Per lease: held (expiry moved to now + lease), lost, or abort_requested.
  virtual Task<std::vector<LeaseState>> renew(std::vector<Lease> leases, std::chrono::milliseconds lease) = 0;
  /// Records the attempt, frees its slot and lease, requeues as the outcome
  /// says; returns the runs as changed, in event order.
  /// @throws LeaseLostError for a stale token (nothing changed).
  virtual Task<std::vector<TaskRun>> finish(Lease lease, Outcome outcome) = 0;
  /// Every expired lease: interrupted and requeued, or failure past
  /// max_deliveries, or aborted when an abort was requested.
  virtual Task<std::vector<TaskRun>> reap(std::string manager_id) = 0;
  virtual Task<std::optional<TaskRun>> get_run(std::string run_id) = 0;
  /// queued: aborted at once; running: abort_requested (and an "abort" event);
  /// final: unchanged.
  /// @throws UnknownRunError for an unknown id.
  virtual Task<std::vector<TaskRun>> request_abort(std::string run_id, std::string reason,
                                                   std::string manager_id) = 0;

  /// Stores `proposed` if the task has no anchor yet; returns the stored one.
  virtual Task<TimePoint> schedule_anchor(std::string task, TimePoint proposed) = 0;
  virtual Task<std::optional<TimePoint>> last_slot(std::string task) = 0;
  /// If `slot` is newer than the task's last slot: stores it and, when the
  /// task is enabled, enqueues `run` and returns it. Exactly once per (task, slot).
  virtual Task<std::optional<TaskRun>> fire_slot(std::string task, TimePoint slot, TaskRun run) = 0;

  /// Claimable runs (due now) per priority.
  virtual Task<std::map<TaskPriority, std::size_t>> queue_length(std::vector<TaskPriority> queues) = 0;
  /// Every waiting run (due or delayed) of those priorities ends aborted
  /// ("queue cleared"); counts per priority.
  virtual Task<std::map<TaskPriority, std::size_t>> clear_queue(std::vector<TaskPriority> queues,
                                                                std::string manager_id) = 0;
  virtual Task<> set_manager_status(std::string manager_id, nlohmann::json status, std::chrono::seconds ttl) = 0;
  virtual Task<std::vector<nlohmann::json>> manager_statuses() = 0;
  /// Events after cursor `after` ("": from now), in commit order, waiting up
  /// to `wait` for at least one.
  virtual Task<EventBatch> read_events(std::string after, std::size_t max, std::chrono::milliseconds wait) = 0;
};

/// memory://[name][?queues=...&retention=S], redis://[user:pass@]host[:port][/db][?name=N&queues=...
/// &retention=S&timeout=S&connect_timeout=S], rediss://...
/// @throws FluidError quoting the URL (without its password) for anything else.
std::shared_ptr<TaskBroker> make_broker(std::string_view url);

}  // namespace fluid
