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
#include <functional>
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
  std::string manager_id;            ///< recorded on the runs it claims or settles
  std::vector<TaskPriority> queues;  ///< in this order; empty: claims nothing
  std::vector<std::string> tasks;    ///< only runs of these tasks; empty: claims nothing
  std::size_t max_runs = 1;          ///< 0: claims nothing, returns at once
  std::chrono::milliseconds lease{15'000};
  std::chrono::milliseconds wait{0};  ///< wait up to this long for a claimable run (event driven)
  /// Kept with each lease: when it expires, reap() fails a run delivered this
  /// many times instead of queueing it again (TaskManagerConfig::max_deliveries).
  unsigned max_deliveries = 5;
};

/// What a claim did.
struct ClaimResult {
  std::vector<std::pair<TaskRun, Lease>> claimed;  ///< now running
  /// Runs this claim met and did not lease, in event order: ended aborted
  /// ("task disabled") or rate_limited, or rate-limit retried (still queued,
  /// rate_limit_attempt + 1, execute_after set; no event).
  std::vector<TaskRun> settled;
  /// When the claim did not fill max_runs: the earliest time a run of these
  /// tasks in these queues becomes claimable (a delayed run's execute_after).
  std::optional<TimePoint> next_due;
  /// When the claim did not fill max_runs: tasks not in the request with
  /// claimable runs in its queues (sorted, at most 8), which a consumer with
  /// this registry will never take.
  std::vector<std::string> skipped_tasks;
};

/// How an attempt ended, as the consumer saw it.
struct Outcome {
  TaskState state = TaskState::success;               ///< success, failure, aborted or interrupted
  std::string error;                                  ///< failure message or abort reason
  std::optional<std::chrono::milliseconds> retry_in;  ///< failure: queue again after this
  bool requeue = false;                               ///< interrupted: release (queue again now)
};

/// What a renewal found of one lease.
enum class LeaseStatus {
  held,            ///< renewed: the holder goes on
  lost,            ///< stale token or reaped: the run belongs to another attempt, record nothing
  abort_requested  ///< renewed, and an abort was requested: record it aborted
};
/// One lease's answer to renew().
struct LeaseState {
  LeaseStatus status = LeaseStatus::held;
  TimePoint expires;         ///< the new expiry (broker clock); for lost, the one given
  std::string abort_reason;  ///< for abort_requested
};

/// One entry of the broker's event feed, in commit order.
struct TaskEvent {
  std::string id;    ///< the feed's cursor of this event
  std::string kind;  ///< "state": the run as changed; "abort": an abort was requested of a running run
  TaskRun run;       ///< for "abort": the running run, its error the reason given
};
/// What read_events() returns.
struct EventBatch {
  std::vector<TaskEvent> events;
  std::string cursor;  ///< pass to the next read_events()
  bool gap = false;    ///< retention dropped events after the cursor given
};
/// Whether a reader of the feed wants an event of this kind ("state",
/// "abort"); see TaskBroker::read_events_if().
using EventWanted = std::function<bool(std::string_view kind)>;

/// The broker interface both brokers implement; a third one plugs in here
/// and is correct when it passes the conformance suite.
///
/// Guarantees (each broker): every call is one atomic step (a change and its
/// event together, so the feed is the commit order); every time stamped or
/// compared is the broker's own clock; enqueue, renew, finish,
/// request_abort, set_enabled, register_tasks, schedule_anchor, fire_slot and
/// set_manager_status may be repeated after a lost reply; claim and
/// clear_queue are not.
///
/// Calls other than url() and queues() need the broker open. A lease stays
/// valid past its expiry until reap() takes it: judged by the broker's clock
/// at the reap, so a holder that renews or finishes late, before any reap,
/// loses nothing.
///
/// @warning A broker object may be used from any thread; its calls are
///          coroutines awaited on the caller's executor.
class TaskBroker {
 public:
  virtual ~TaskBroker();
  /// The URL, credentials removed.
  virtual std::string url() const = 0;
  /// The URL's ?queues=, in order (default high, medium, low).
  virtual std::vector<TaskPriority> queues() const = 0;

  /// Connects (memory://: joins the process's broker of that name, shared
  /// with every object open on it). Idempotent.
  /// @throws BrokerUnavailableError after the connect timeout.
  virtual Task<> open() = 0;
  /// Disconnects (memory://: the last object open on a name drops its runs,
  /// logging how many were not final). Idempotent.
  virtual Task<> close() = 0;
  /// The broker's clock.
  virtual Task<TimePoint> now() = 0;

  /// Stores static info, limits and the rate-limit policy; keeps enabled and
  /// last_run_*; new tasks start enabled.
  virtual Task<> register_tasks(std::vector<TaskRegistration> tasks) = 0;
  /// Those tasks (every registered one when empty), with the dynamic fields.
  virtual Task<std::vector<TaskInfo>> tasks_info(std::vector<std::string> names) = 0;
  /// The task's info after the change.
  /// @throws UnknownTaskError for a task never registered on this broker.
  virtual Task<TaskInfo> set_enabled(std::string task, bool enabled) = 0;

  /// A new id is stored queued, with event `queued`: `queued` stamped now,
  /// `start`, `end`, `error` and `requeued` cleared. With `delay` > 0,
  /// execute_after = now + delay (the broker's now); else an execute_after
  /// the run carries (a broker-clock time, as fire_slot()'s) is kept. A run
  /// is claimable from its execute_after on. A known id (live, or final and
  /// still retained) is returned as it is, with false, and nothing changes.
  /// @throws FluidError for a run without an id or task.
  virtual Task<std::pair<TaskRun, bool>> enqueue(TaskRun run, std::chrono::milliseconds delay) = 0;
  /// Walks the queues in order, FIFO by the moment each run became claimable
  /// (a released or reaped run keeps its place), over runs of the requested
  /// tasks only: a disabled task's run ends aborted ("task disabled"), one at
  /// max_concurrency is rate-limit retried or ends rate_limited (all three
  /// into settled), the others are leased (running, start, deliveries + 1, a
  /// new fencing token, a slot of max_concurrency) until max_runs. With
  /// nothing claimed or settled and wait > 0, waits (event driven) for an
  /// enqueue, a release or the next due time, then tries again; empty after
  /// `wait`. Cancellable while it waits.
  virtual Task<ClaimResult> claim(ClaimRequest request) = 0;
  /// Per lease, in order: held (expiry moved to now + lease), lost (stale
  /// token, or reaped), or abort_requested (the reason; still renewed, so
  /// the holder can record the abort).
  virtual Task<std::vector<LeaseState>> renew(std::vector<Lease> leases, std::chrono::milliseconds lease) = 0;
  /// Records the attempt (`end`, `error`, the task's last_run_*), frees its
  /// slot and lease, then: failure with retry_in: `failure` requeued, then
  /// queued again delayed by retry_in with retry_attempt + 1 and deliveries
  /// 0; interrupted with requeue: `interrupted` requeued, then queued again
  /// in its original place, the delivery refunded; else final. An abort
  /// requested meanwhile wins over a requeue: a release ends aborted with
  /// its reason, a failure is not retried. Returns the runs as changed, in
  /// event order. Repeated with the same lease and outcome, returns the same
  /// runs again and changes nothing.
  /// @throws LeaseLostError for a stale token (nothing changed).
  /// @throws FluidError for an outcome state other than success, failure,
  ///         aborted or interrupted, or retry_in without failure.
  virtual Task<std::vector<TaskRun>> finish(Lease lease, Outcome outcome) = 0;
  /// Every lease expired by now: aborted if an abort was requested, else
  /// failure ("lease expired N times: consumer lost") once delivered the
  /// claim's max_deliveries times, else `interrupted` requeued ("lease
  /// expired") then queued again in its original place. Returns the runs as
  /// changed, in event order; `manager_id` is recorded on them.
  virtual Task<std::vector<TaskRun>> reap(std::string manager_id) = 0;
  /// The run as the broker holds it; nullopt for an id never queued or past
  /// its retention.
  virtual Task<std::optional<TaskRun>> get_run(std::string run_id) = 0;
  /// queued: aborted at once with the reason; running: the abort is
  /// requested (renew() reports it; event "abort"), the holder records it.
  /// Returns the runs as changed, in event order: empty when nothing changed
  /// (final already, or an abort already requested; get_run() tells which).
  /// @throws UnknownRunError for an unknown id.
  virtual Task<std::vector<TaskRun>> request_abort(std::string run_id, std::string reason, std::string manager_id) = 0;

  /// Stores `proposed` if the task has no anchor yet; returns the stored one.
  virtual Task<TimePoint> schedule_anchor(std::string task, TimePoint proposed) = 0;
  /// The task's newest fired slot; nullopt before its first.
  virtual Task<std::optional<TimePoint>> last_slot(std::string task) = 0;
  /// If `slot` is newer than the task's last slot: stores it and, when the
  /// task is enabled, enqueues `run` (as enqueue() with no delay: its
  /// execute_after, e.g. slot + randomize + jitter, kept) and returns it as
  /// queued. Else, or when disabled, nothing is queued: nullopt. Exactly
  /// once per (task, slot), whoever calls it.
  virtual Task<std::optional<TaskRun>> fire_slot(std::string task, TimePoint slot, TaskRun run) = 0;

  /// Claimable runs (due now) per priority given (each present, 0 included).
  virtual Task<std::map<TaskPriority, std::size_t>> queue_length(std::vector<TaskPriority> queues) = 0;
  /// Every waiting run (due or delayed) of the priorities given ends aborted
  /// ("queue cleared"); counts per priority given.
  virtual Task<std::map<TaskPriority, std::size_t>> clear_queue(std::vector<TaskPriority> queues,
                                                                std::string manager_id) = 0;
  /// Stores `status` under `manager_id` for `ttl` (replacing the previous one).
  virtual Task<> set_manager_status(std::string manager_id, nlohmann::json status, std::chrono::milliseconds ttl) = 0;
  /// The statuses not yet expired, by manager id.
  virtual Task<std::vector<nlohmann::json>> manager_statuses() = 0;
  /// Events after cursor `after` ("": from now), in commit order, at most
  /// `max`, waiting up to `wait` for at least one (event driven,
  /// cancellable). The batch's cursor continues the feed (it is `after`
  /// when nothing came); `gap` when retention dropped events after `after`.
  /// @throws BrokerError for a cursor this broker never gave.
  virtual Task<EventBatch> read_events(std::string after, std::size_t max, std::chrono::milliseconds wait) = 0;
  /// read_events() for a reader that needs only some events: the batch
  /// holds the events `wanted` accepts, and a broker need not decode the
  /// others. `max`, the wait, the cursor and `gap` count every event read,
  /// so a batch may come back empty with its cursor moved on. `wanted` is
  /// asked as the events arrive, not when the call is made: an interest
  /// taken up while the call waits covers the events it returns. The
  /// default reads every event and drops the others.
  /// @throws BrokerError for a cursor this broker never gave.
  virtual Task<EventBatch> read_events_if(std::string after, std::size_t max, std::chrono::milliseconds wait,
                                          EventWanted wanted);
};

/// The broker for `url`, not yet open:
/// - `memory://[name][?queues=...&retention=S]`: the process's broker of
///   that name (`default` when none; a name follows the task-name rule);
/// - `redis://[user:pass@]host[:port][/db][?name=N&queues=...&retention=S&timeout=S&connect_timeout=S]`,
///   `rediss://...`: a Redis server.
///
/// `queues`: the priorities claimed, in order (default high,medium,low;
/// empty: none). `retention`: seconds final runs stay readable (default
/// 3600). Each query key at most once; S is decimal seconds (`0.5`, `60`).
/// @throws FluidError quoting the URL (without its password) for an unknown
///         scheme, a bad name, key or value, an unknown or repeated priority,
///         or a scheme this build does not support.
std::shared_ptr<TaskBroker> make_broker(std::string_view url);

}  // namespace fluid
