#pragma once
// The state of one named memory broker (memory://<name>), shared by every
// broker object open on that name. Each operation is a plain function called
// with `mutex` held, so a call and its events are one atomic step; the
// coroutine layer (memory_broker.cpp) locks, calls, unlocks and wakes.

#include "brokers/memory/run_snapshot.hpp"
#include "fluid/detail/notifier.hpp"
#include "fluid/tasks/broker.hpp"

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fluid::brokers {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;

/// The circumstances of one broker call: the two clocks read once (times
/// are stamped on the system clock, compared on the steady one, which clock
/// steps do not move) and the calling object's retention.
struct Call {
  TimePoint wall;
  SteadyTime mono;
  std::chrono::milliseconds retention;

  static Call at_now(std::chrono::milliseconds retention);
  /// A broker-clock time as a steady one.
  SteadyTime steady(TimePoint t) const { return mono + std::chrono::duration_cast<SteadyClock::duration>(t - wall); }
  /// A steady time as a broker-clock one.
  TimePoint system(SteadyTime t) const { return wall + std::chrono::duration_cast<Clock::duration>(t - mono); }
};

/// A run's place in its queue: when it became claimable, then arrival order.
/// A released or reaped run keeps it, so it goes back where it was.
struct Place {
  SteadyTime at;
  std::uint64_t seq = 0;
  auto operator<=>(const Place&) const = default;
};

struct RunRecord;
/// The waiting runs of one task in one priority, claimable ones first.
using TaskQueue = std::map<Place, RunRecord*>;

/// What the broker keeps per task name: registration, the enabled flag and
/// last run, the running count against max_concurrency, its queues and its
/// schedule. Made on first mention (registration, enqueue or schedule) and
/// never dropped, so records point at it.
struct TaskEntry {
  bool registered = false;  ///< by register_tasks(): listed by tasks_info()
  TaskInfo info;            ///< enabled, last_run_*, max_concurrency included
  std::optional<RetryPolicy> rate_limit_retry;
  std::size_t running = 0;          ///< leases held on its runs
  std::array<TaskQueue, 3> queued;  ///< by TaskPriority
  std::optional<TimePoint> anchor;
  std::optional<TimePoint> last_slot;
};

/// One run and what only the broker knows about it.
struct RunRecord {
  RunSnapshot run;  ///< as it is now; its identity never changes (the map key views its id)
  TaskEntry* task = nullptr;
  Place place;                              ///< in task->queued[priority] while queued
  std::uint64_t token = 0;                  ///< the last fencing token handed out for it
  SteadyTime lease_expires;                 ///< while running
  unsigned max_deliveries = 0;              ///< the claim's, applied when its lease is reaped
  std::optional<std::string> abort_reason;  ///< requested while running
  // The last finish, returned again to a repeated one.
  std::uint64_t finished_token = 0;
  Outcome finished_outcome;
  std::vector<RunSnapshot> finished_changes;
};

/// An event as the feed keeps it: the run as a snapshot, made a TaskEvent when read.
struct StoredEvent {
  std::uint64_t id = 0;
  const char* kind = "state";
  RunSnapshot run;
};

class MemoryState {
 public:
  /// Guards everything here except the two notifiers (thread-safe themselves).
  std::mutex mutex;
  /// Notified after a step made a run claimable (enqueue, requeue, release):
  /// waiting claims look again.
  detail::Notifier work;
  /// Notified after a step added events: waiting readers look again.
  detail::Notifier feed;

  /// What the last steps asked to notify; cleared by the call.
  struct Wakeups {
    bool work = false;
    bool feed = false;
  };
  Wakeups take_wakeups();

  /// Drops final runs past their retention and expired manager statuses.
  void forget_expired(const Call& call);
  /// Runs not final (queued or running): lost when the last holder closes.
  std::size_t unfinished_runs() const;

  // ------------------------------------------------------------ tasks
  void register_tasks(std::vector<TaskRegistration> tasks);
  std::vector<TaskInfo> tasks_info(const std::vector<std::string>& names) const;
  TaskInfo set_enabled(const std::string& task, bool enabled);

  // ------------------------------------------------------------ runs
  std::pair<TaskRun, bool> enqueue(TaskRun&& run, std::chrono::milliseconds delay, const Call& call);
  /// `due_at`: when the run it reports as next_due is due (steady clock).
  ClaimResult claim(const ClaimRequest& request, const Call& call, std::optional<SteadyTime>& due_at);
  std::vector<LeaseState> renew(const std::vector<Lease>& leases, std::chrono::milliseconds lease, const Call& call);
  std::vector<TaskRun> finish(const Lease& lease, const Outcome& outcome, const Call& call);
  std::vector<TaskRun> reap(const std::string& manager_id, const Call& call);
  std::optional<TaskRun> get_run(const std::string& run_id) const;
  std::vector<TaskRun> request_abort(const std::string& run_id, const std::string& reason,
                                     const std::string& manager_id, const Call& call);

  // ------------------------------------------------------------ schedules
  TimePoint schedule_anchor(const std::string& task, TimePoint proposed);
  std::optional<TimePoint> last_slot(const std::string& task) const;
  std::optional<TaskRun> fire_slot(const std::string& task, TimePoint slot, TaskRun&& run, const Call& call);

  // ------------------------------------------------------------ queues
  std::map<TaskPriority, std::size_t> queue_length(const std::vector<TaskPriority>& queues, const Call& call) const;
  std::map<TaskPriority, std::size_t> clear_queue(const std::vector<TaskPriority>& queues,
                                                  const std::string& manager_id, const Call& call);

  // ------------------------------------------------------------ statuses
  void set_manager_status(const std::string& manager_id, nlohmann::json status, std::chrono::milliseconds ttl,
                          const Call& call);
  std::vector<nlohmann::json> manager_statuses() const;

  // ------------------------------------------------------------ feed
  /// The cursor of the newest event: reading from it returns what comes next.
  std::string feed_cursor() const;
  /// @throws BrokerError for a cursor this feed never gave.
  EventBatch read_events(const std::string& after, std::size_t max) const;

 private:
  // Claims (memory_claim.cpp).
  /// One claim under way: what it asked, who asks, what it did.
  struct Claiming {
    const ClaimRequest& request;
    const Call& call;
    const std::string* claimant;
    ClaimResult result;
  };
  /// The requested tasks' entries (known ones, once each), into scratch_tasks_.
  void resolve_tasks(const std::vector<std::string>& names);
  /// Their non-empty queues of `priority`, in scratch_queues_.
  const std::vector<TaskQueue*>& queues_of(TaskPriority priority);
  void settle_or_lease(RunRecord& record, Claiming& claiming);
  void lease(RunRecord& record, Claiming& claiming);
  /// The run met ended final in the claim: into result.settled.
  void settle(RunRecord& record, Claiming& claiming);
  void retry_rate_limited(RunRecord& record, std::chrono::milliseconds delay, Claiming& claiming);
  /// The earliest run of the resolved tasks in `queues` not yet claimable.
  const RunRecord* next_due(const std::vector<TaskPriority>& queues, SteadyTime mono) const;
  std::vector<std::string> skipped_tasks(const ClaimRequest& request, SteadyTime mono) const;
  Place delayed_place(std::chrono::milliseconds delay, const Call& call);

  /// Ends the leased attempt of `record` as `outcome` says (finish()).
  std::vector<RunSnapshot> end_as(RunRecord& record, const Outcome& outcome, const Call& call);

  // The life of a record (memory_state.cpp).
  TaskEntry& task_entry(const std::string& name);
  RunRecord* find(const std::string& run_id);
  void place_in_queue(RunRecord& record);
  void take_from_queue(RunRecord& record);
  /// The one copy of a manager id that snapshots point at.
  const std::string* intern(const std::string& manager_id);
  /// Ends the attempt: state, end, error, manager, the task's last run.
  void end_attempt(RunRecord& record, TaskState state, std::string error, const std::string* manager_id,
                   const Call& call);
  /// The attempt just ended is final: event, retention.
  void make_final(RunRecord& record, const Call& call, std::vector<RunSnapshot>& changes);
  /// The attempt just ended goes back to the queue: its event, requeued.
  void mark_requeued(RunRecord& record, std::vector<RunSnapshot>& changes);
  /// A fresh attempt, queued at `place`, and its event.
  void queue_again(RunRecord& record, Place place, const Call& call, std::vector<RunSnapshot>& changes);
  void release_lease(RunRecord& record);
  void record_event(const char* kind, const RunSnapshot& run);
  static std::vector<TaskRun> runs_of(const std::vector<RunSnapshot>& changes);

  /// By id; the key views the record's own identity, which outlives it in the map.
  std::unordered_map<std::string_view, RunRecord> runs_;
  std::map<std::string, TaskEntry, std::less<>> tasks_;
  std::map<std::pair<SteadyTime, std::uint64_t>, RunRecord*> leases_;  ///< by expiry, then token
  /// Final runs in the order they became final, one FIFO per retention
  /// (each broker object has one; few differ), so each is in expiry order.
  /// One entry per final record, which only its entry erases.
  using Forget = std::pair<SteadyTime, RunRecord*>;
  std::map<std::chrono::milliseconds, std::deque<Forget>> forget_;
  std::map<std::string, std::pair<nlohmann::json, SteadyTime>> statuses_;
  std::set<std::string, std::less<>> manager_ids_;
  std::vector<TaskEntry*> scratch_tasks_;  // reused by each claim: no allocation per claim
  std::vector<TaskQueue*> scratch_queues_;
  /// The feed: a ring of the last retained_events events, event k at
  /// events_[(k - 1) % retained_events] (ids count from 1).
  std::vector<StoredEvent> events_;
  std::uint64_t last_event_ = 0;  ///< the newest event's id; 0 before the first
  std::uint64_t first_retained_event() const;
  std::uint64_t last_token_ = 0;
  std::uint64_t last_seq_ = 0;
  Wakeups wakeups_;
};

}  // namespace fluid::brokers
