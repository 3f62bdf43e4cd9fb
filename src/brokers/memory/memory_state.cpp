// The memory broker's records: how a run is stored, queued, ended and
// forgotten, its events, and the per-task, schedule, queue and status calls.

#include "brokers/memory/memory_state.hpp"

#include "fluid/tasks/errors.hpp"

#include <algorithm>
#include <charconv>

namespace fluid::brokers {

namespace {

/// The feed keeps this many events; older ones are a gap.
constexpr std::size_t retained_events = 10'000;

std::size_t index_of(TaskPriority priority) { return static_cast<std::size_t>(priority); }

}  // namespace

Call Call::at_now(std::chrono::milliseconds retention) { return Call{Clock::now(), SteadyClock::now(), retention}; }

MemoryState::Wakeups MemoryState::take_wakeups() { return std::exchange(wakeups_, {}); }

// ------------------------------------------------------------------ records

TaskEntry& MemoryState::task_entry(const std::string& name) {
  const auto [entry, made] = tasks_.try_emplace(name);
  if (made) entry->second.info.name = name;
  return entry->second;
}

RunRecord* MemoryState::find(const std::string& run_id) {
  const auto found = runs_.find(run_id);
  return found == runs_.end() ? nullptr : &found->second;
}

void MemoryState::place_in_queue(RunRecord& record) {
  record.task->queued[index_of(record.run.identity->priority)].emplace(record.place, &record);
}

void MemoryState::take_from_queue(RunRecord& record) {
  record.task->queued[index_of(record.run.identity->priority)].erase(record.place);
}

void MemoryState::release_lease(RunRecord& record) {
  leases_.erase({record.lease_expires, record.token});
  --record.task->running;
  record.abort_reason.reset();
}

const std::string* MemoryState::intern(const std::string& manager_id) {
  return &*manager_ids_.insert(manager_id).first;
}

void MemoryState::end_attempt(RunRecord& record, TaskState state, std::string error, const std::string* manager_id,
                              const Call& call) {
  RunSnapshot& run = record.run;
  run.state = state;
  run.end = call.wall;
  run.error = std::move(error);
  run.manager_id = manager_id;
  TaskInfo& info = record.task->info;
  info.last_run_end = run.end;
  info.last_run_state = state;
  info.last_run_duration = run.start ? std::chrono::duration_cast<std::chrono::microseconds>(*run.end - *run.start)
                                     : std::chrono::microseconds::zero();
}

void MemoryState::make_final(RunRecord& record, const Call& call, std::vector<RunSnapshot>& changes) {
  forget_[call.retention].emplace_back(call.mono + call.retention, &record);
  record_event("state", record.run);
  changes.push_back(record.run);
}

void MemoryState::mark_requeued(RunRecord& record, std::vector<RunSnapshot>& changes) {
  record.run.requeued = true;
  record_event("state", record.run);
  changes.push_back(record.run);
}

void MemoryState::queue_again(RunRecord& record, Place place, const Call& call, std::vector<RunSnapshot>& changes) {
  RunSnapshot& run = record.run;
  run.state = TaskState::queued;
  run.requeued = false;
  run.queued = call.wall;
  run.start.reset();
  run.end.reset();
  run.error.clear();
  record.place = place;
  place_in_queue(record);
  record_event("state", run);
  changes.push_back(run);
  wakeups_.work = true;
}

void MemoryState::record_event(const char* kind, const RunSnapshot& run) {
  const std::uint64_t id = ++last_event_;
  if (events_.size() < retained_events) {
    events_.push_back(StoredEvent{id, kind, run});
  } else {
    StoredEvent& oldest = events_[(id - 1) % retained_events];  // overwritten in place: no allocation
    oldest.id = id;
    oldest.kind = kind;
    oldest.run = run;
  }
  wakeups_.feed = true;
}

std::uint64_t MemoryState::first_retained_event() const {
  return last_event_ > retained_events ? last_event_ - retained_events + 1 : 1;
}

std::vector<TaskRun> MemoryState::runs_of(const std::vector<RunSnapshot>& changes) {
  std::vector<TaskRun> runs;
  runs.reserve(changes.size());
  for (const auto& change : changes) runs.push_back(change.to_run());
  return runs;
}

void MemoryState::forget_expired(const Call& call) {
  for (auto& [retention, finals] : forget_) {
    while (!finals.empty() && finals.front().first <= call.mono) {
      const auto found = runs_.find(finals.front().second->run.id());
      finals.pop_front();
      runs_.erase(found);  // by iterator: the key views the record erased
    }
  }
  if (!statuses_.empty()) {
    std::erase_if(statuses_, [&](const auto& status) { return status.second.second <= call.mono; });
  }
}

std::size_t MemoryState::unfinished_runs() const {
  return static_cast<std::size_t>(
      std::count_if(runs_.begin(), runs_.end(), [](const auto& entry) { return !entry.second.run.is_final(); }));
}

std::optional<TaskRun> MemoryState::get_run(const std::string& run_id) const {
  const auto found = runs_.find(run_id);
  if (found == runs_.end()) return std::nullopt;
  return found->second.run.to_run();
}

std::pair<TaskRun, bool> MemoryState::enqueue(TaskRun&& run, std::chrono::milliseconds delay, const Call& call) {
  if (run.id.empty()) throw FluidError("enqueue: a run of task '" + run.task + "' without an id");
  if (run.task.empty()) throw FluidError("enqueue: run '" + run.id + "' without a task");
  if (const RunRecord* known = find(run.id)) return {known->run.to_run(), false};
  const std::string* manager_id = intern(run.manager_id);
  RunSnapshot stored = RunSnapshot::of(std::move(run));
  stored.manager_id = manager_id;
  stored.state = TaskState::queued;
  stored.queued = call.wall;
  stored.start.reset();
  stored.end.reset();
  stored.error.clear();
  stored.requeued = false;
  stored.deliveries = 0;
  if (delay > std::chrono::milliseconds::zero()) stored.execute_after = call.wall + delay;
  const bool delayed = stored.execute_after && *stored.execute_after > call.wall;
  const std::string_view id = stored.id();  // the identity outlives the record's map entry
  RunRecord& record = runs_[id];
  record.run = std::move(stored);
  record.task = &task_entry(record.run.identity->task);
  record.place = Place{delayed ? call.steady(*record.run.execute_after) : call.mono, ++last_seq_};
  place_in_queue(record);
  record_event("state", record.run);
  wakeups_.work = true;
  return {record.run.to_run(), true};
}

// ------------------------------------------------------------------ tasks

void MemoryState::register_tasks(std::vector<TaskRegistration> tasks) {
  for (auto& registration : tasks) {
    TaskEntry& entry = task_entry(registration.info.name);
    TaskInfo info = std::move(registration.info);
    info.enabled = entry.info.enabled;  // new entries start enabled
    info.last_run_end = entry.info.last_run_end;
    info.last_run_duration = entry.info.last_run_duration;
    info.last_run_state = entry.info.last_run_state;
    info.max_concurrency = registration.max_concurrency;
    entry.info = std::move(info);
    entry.rate_limit_retry = std::move(registration.rate_limit_retry);
    entry.registered = true;
  }
}

std::vector<TaskInfo> MemoryState::tasks_info(const std::vector<std::string>& names) const {
  std::vector<TaskInfo> infos;
  for (const auto& [name, entry] : tasks_) {
    const bool wanted = names.empty() || std::find(names.begin(), names.end(), name) != names.end();
    if (entry.registered && wanted) infos.push_back(entry.info);
  }
  return infos;
}

TaskInfo MemoryState::set_enabled(const std::string& task, bool enabled) {
  const auto found = tasks_.find(task);
  if (found == tasks_.end() || !found->second.registered) throw UnknownTaskError("unknown task '" + task + "'");
  found->second.info.enabled = enabled;
  return found->second.info;
}

// ------------------------------------------------------------------ schedules

TimePoint MemoryState::schedule_anchor(const std::string& task, TimePoint proposed) {
  TaskEntry& entry = task_entry(task);
  if (!entry.anchor) entry.anchor = proposed;
  return *entry.anchor;
}

std::optional<TimePoint> MemoryState::last_slot(const std::string& task) const {
  const auto found = tasks_.find(task);
  return found == tasks_.end() ? std::nullopt : found->second.last_slot;
}

std::optional<TaskRun> MemoryState::fire_slot(const std::string& task, TimePoint slot, TaskRun&& run,
                                              const Call& call) {
  if (run.task != task) throw FluidError("fire_slot: a run of task '" + run.task + "' for task '" + task + "'");
  TaskEntry& entry = task_entry(task);
  if (entry.last_slot && slot <= *entry.last_slot) return std::nullopt;
  entry.last_slot = slot;
  if (!entry.info.enabled) return std::nullopt;
  auto [queued, created] = enqueue(std::move(run), std::chrono::milliseconds::zero(), call);
  if (!created) return std::nullopt;
  return std::move(queued);
}

// ------------------------------------------------------------------ queues

std::map<TaskPriority, std::size_t> MemoryState::queue_length(const std::vector<TaskPriority>& queues,
                                                              const Call& call) const {
  std::map<TaskPriority, std::size_t> lengths;
  for (const auto priority : queues) {
    std::size_t& length = lengths[priority];
    for (const auto& [name, entry] : tasks_) {
      const TaskQueue& queue = entry.queued[index_of(priority)];
      for (auto it = queue.begin(); it != queue.end() && it->first.at <= call.mono; ++it) ++length;
    }
  }
  return lengths;
}

std::map<TaskPriority, std::size_t> MemoryState::clear_queue(const std::vector<TaskPriority>& queues,
                                                             const std::string& manager_id, const Call& call) {
  std::map<TaskPriority, std::size_t> cleared;
  std::vector<RunSnapshot> changes;  // what the events carry; the caller gets counts
  const std::string* clearer = intern(manager_id);
  for (const auto priority : queues) {
    std::size_t& count = cleared[priority];
    for (auto& [name, entry] : tasks_) {
      TaskQueue waiting = std::exchange(entry.queued[index_of(priority)], {});
      for (const auto& [place, record] : waiting) {
        end_attempt(*record, TaskState::aborted, "queue cleared", clearer, call);
        make_final(*record, call, changes);
        ++count;
      }
    }
  }
  return cleared;
}

// ------------------------------------------------------------------ statuses

void MemoryState::set_manager_status(const std::string& manager_id, nlohmann::json status,
                                     std::chrono::milliseconds ttl, const Call& call) {
  statuses_[manager_id] = {std::move(status), call.mono + ttl};
}

std::vector<nlohmann::json> MemoryState::manager_statuses() const {
  std::vector<nlohmann::json> statuses;
  statuses.reserve(statuses_.size());
  for (const auto& [manager_id, status] : statuses_) statuses.push_back(status.first);
  return statuses;
}

// ------------------------------------------------------------------ feed

std::string MemoryState::feed_cursor() const { return std::to_string(last_event_); }

EventBatch MemoryState::read_events(const std::string& after, std::size_t max) const {
  std::uint64_t from = 0;
  const auto [end, error] = std::from_chars(after.data(), after.data() + after.size(), from);
  if (after.empty() || error != std::errc{} || end != after.data() + after.size() || from > last_event_) {
    throw BrokerError("read_events: cursor '" + after + "' was not given by this broker");
  }
  EventBatch batch;
  const std::uint64_t first_retained = first_retained_event();
  batch.gap = from + 1 < first_retained;
  const std::uint64_t first = std::max(from + 1, first_retained);
  const std::uint64_t count = std::min<std::uint64_t>(max, last_event_ + 1 - first);
  batch.events.reserve(count);
  for (std::uint64_t id = first; id < first + count; ++id) {
    const StoredEvent& event = events_[(id - 1) % retained_events];
    batch.events.push_back(TaskEvent{std::to_string(event.id), event.kind, event.run.to_run()});
  }
  batch.cursor = count == 0 ? after : batch.events.back().id;
  return batch;
}

}  // namespace fluid::brokers
