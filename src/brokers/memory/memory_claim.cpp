// The memory broker's claim: the requested queues in order, FIFO across the
// requested tasks' queues, each run met settled (disabled, rate limited) or
// leased, in one step.

#include "brokers/memory/memory_state.hpp"

#include <algorithm>
#include <limits>

namespace fluid::brokers {

namespace {

/// Runs one claim may settle: keeps a step short when a long queue of a
/// disabled or limited task is met; the rest are settled by the next claim.
constexpr std::size_t max_settled_per_claim = 256;
/// Names of unknown tasks reported by one claim.
constexpr std::size_t max_skipped_tasks = 8;

std::size_t index_of(TaskPriority priority) { return static_cast<std::size_t>(priority); }

/// The first place after every run claimable at `mono`.
Place after_due(SteadyTime mono) { return Place{mono, std::numeric_limits<std::uint64_t>::max()}; }

/// The run first in line among `queues` and claimable now, or null.
RunRecord* earliest_due(const std::vector<TaskQueue*>& queues, SteadyTime mono) {
  RunRecord* earliest = nullptr;
  for (const TaskQueue* queue : queues) {
    if (queue->empty()) continue;
    const auto& [place, record] = *queue->begin();
    if (place.at <= mono && (earliest == nullptr || place < earliest->place)) earliest = record;
  }
  return earliest;
}

}  // namespace

ClaimResult MemoryState::claim(const ClaimRequest& request, const Call& call, std::optional<SteadyTime>& due_at) {
  if (request.max_runs == 0) return {};
  Claiming claiming{request, call, intern(request.manager_id), {}};
  ClaimResult& result = claiming.result;
  resolve_tasks(request.tasks);
  for (const auto priority : request.queues) {
    const auto& queues = queues_of(priority);
    while (result.claimed.size() < request.max_runs && result.settled.size() < max_settled_per_claim) {
      RunRecord* next = earliest_due(queues, call.mono);
      if (next == nullptr) break;
      settle_or_lease(*next, claiming);
    }
  }
  if (result.claimed.size() < request.max_runs) {  // a full claim is called again at once: no need
    if (const RunRecord* next = next_due(request.queues, call.mono)) {
      due_at = next->place.at;
      result.next_due = next->run.execute_after.value_or(call.system(next->place.at));
    }
    result.skipped_tasks = skipped_tasks(request, call.mono);
  }
  return std::move(result);
}

void MemoryState::resolve_tasks(const std::vector<std::string>& names) {
  scratch_tasks_.clear();
  for (const auto& name : names) {
    const auto found = tasks_.find(name);
    if (found == tasks_.end()) continue;
    TaskEntry* entry = &found->second;
    if (std::find(scratch_tasks_.begin(), scratch_tasks_.end(), entry) == scratch_tasks_.end()) {
      scratch_tasks_.push_back(entry);
    }
  }
}

const std::vector<TaskQueue*>& MemoryState::queues_of(TaskPriority priority) {
  scratch_queues_.clear();
  for (TaskEntry* entry : scratch_tasks_) {
    TaskQueue& queue = entry->queued[index_of(priority)];
    if (!queue.empty()) scratch_queues_.push_back(&queue);
  }
  return scratch_queues_;
}

void MemoryState::settle_or_lease(RunRecord& record, Claiming& claiming) {
  const TaskEntry& task = *record.task;
  take_from_queue(record);
  if (!task.info.enabled) {
    end_attempt(record, TaskState::aborted, "task disabled", claiming.claimant, claiming.call);
    settle(record, claiming);
    return;
  }
  const std::size_t limit = task.info.max_concurrency;
  if (limit > 0 && task.running >= limit) {
    if (const auto delay = rate_limit_retry_delay(task.rate_limit_retry, record.run.rate_limit_attempt)) {
      retry_rate_limited(record, *delay, claiming);
      return;
    }
    end_attempt(record, TaskState::rate_limited, "", claiming.claimant, claiming.call);
    settle(record, claiming);
    return;
  }
  lease(record, claiming);
}

void MemoryState::settle(RunRecord& record, Claiming& claiming) {
  std::vector<RunSnapshot> changes;
  make_final(record, claiming.call, changes);
  claiming.result.settled.push_back(record.run.to_run());
}

void MemoryState::lease(RunRecord& record, Claiming& claiming) {
  const ClaimRequest& request = claiming.request;
  const Call& call = claiming.call;
  RunSnapshot& run = record.run;
  record.token = ++last_token_;
  run.state = TaskState::running;
  run.start = call.wall;
  run.end.reset();
  ++run.deliveries;
  run.manager_id = claiming.claimant;
  record.lease_expires = call.mono + request.lease;
  record.max_deliveries = request.max_deliveries;
  leases_.emplace(std::pair{record.lease_expires, record.token}, &record);
  ++record.task->running;
  record_event("state", run);
  claiming.result.claimed.emplace_back(run.to_run(), Lease{run.id(), record.token, call.wall + request.lease});
}

// A rate-limit retry is no transition: the run stays queued, delayed, and
// no event is written (aio-fluid's behaviour); the consumer logs it.
void MemoryState::retry_rate_limited(RunRecord& record, std::chrono::milliseconds delay, Claiming& claiming) {
  RunSnapshot& run = record.run;
  ++run.rate_limit_attempt;
  run.execute_after = claiming.call.wall + delay;
  run.manager_id = claiming.claimant;
  record.place = delayed_place(delay, claiming.call);
  place_in_queue(record);
  wakeups_.work = true;  // waiting claims take the new due time into account
  claiming.result.settled.push_back(run.to_run());
}

Place MemoryState::delayed_place(std::chrono::milliseconds delay, const Call& call) {
  return Place{call.mono + delay, ++last_seq_};
}

const RunRecord* MemoryState::next_due(const std::vector<TaskPriority>& queues, SteadyTime mono) const {
  const RunRecord* earliest = nullptr;
  for (const auto priority : queues) {
    for (const TaskEntry* entry : scratch_tasks_) {
      const TaskQueue& queue = entry->queued[index_of(priority)];
      const auto next = queue.upper_bound(after_due(mono));
      if (next != queue.end() && (earliest == nullptr || next->first < earliest->place)) earliest = next->second;
    }
  }
  return earliest;
}

std::vector<std::string> MemoryState::skipped_tasks(const ClaimRequest& request, SteadyTime mono) const {
  std::vector<std::string> skipped;
  for (const auto& [name, entry] : tasks_) {
    if (skipped.size() == max_skipped_tasks) break;
    if (std::find(request.tasks.begin(), request.tasks.end(), name) != request.tasks.end()) continue;
    const bool waiting = std::any_of(request.queues.begin(), request.queues.end(), [&](TaskPriority priority) {
      const TaskQueue& queue = entry.queued[index_of(priority)];
      return !queue.empty() && queue.begin()->first.at <= mono;
    });
    if (waiting) skipped.push_back(name);
  }
  return skipped;
}

}  // namespace fluid::brokers
