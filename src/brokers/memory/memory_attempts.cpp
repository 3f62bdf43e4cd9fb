// The memory broker's leases: renewals, how an attempt ends (finish), what
// happens to the runs of a lost consumer (reap), and aborts.

#include "brokers/broker_checks.hpp"
#include "brokers/memory/memory_state.hpp"

#include "fluid/tasks/errors.hpp"

namespace fluid::brokers {

namespace {

bool same_outcome(const Outcome& a, const Outcome& b) {
  return a.state == b.state && a.error == b.error && a.retry_in == b.retry_in && a.requeue == b.requeue;
}
}  // namespace

std::vector<LeaseState> MemoryState::renew(const std::vector<Lease>& leases, std::chrono::milliseconds lease,
                                           const Call& call) {
  std::vector<LeaseState> states;
  states.reserve(leases.size());
  for (const auto& held : leases) {
    RunRecord* record = find(held.run_id);
    if (record == nullptr || record->run.state != TaskState::running || record->token != held.token) {
      states.push_back(LeaseState{LeaseStatus::lost, held.expires, ""});
      continue;
    }
    auto node = leases_.extract({record->lease_expires, record->token});
    record->lease_expires = call.mono + lease;
    node.key().first = record->lease_expires;
    leases_.insert(std::move(node));
    const auto status = record->abort_reason ? LeaseStatus::abort_requested : LeaseStatus::held;
    states.push_back(LeaseState{status, call.wall + lease, record->abort_reason.value_or("")});
  }
  return states;
}

std::vector<TaskRun> MemoryState::finish(const Lease& lease, const Outcome& outcome, const Call& call) {
  check_outcome(lease, outcome);
  RunRecord* record = find(lease.run_id);
  if (record != nullptr && lease.token != 0 && record->finished_token == lease.token) {
    if (!same_outcome(record->finished_outcome, outcome)) throw_lease_lost(lease, "finished with another outcome");
    return runs_of(record->finished_changes);  // a repeated finish: the same answer, nothing changed
  }
  if (record == nullptr || record->run.state != TaskState::running || record->token != lease.token) {
    throw_lease_lost(lease, "the run belongs to a later attempt or was reaped");
  }
  std::vector<RunSnapshot> changes = end_as(*record, outcome, call);
  auto runs = runs_of(changes);
  record->finished_token = lease.token;
  record->finished_outcome = outcome;
  record->finished_changes = std::move(changes);
  return runs;
}

std::vector<RunSnapshot> MemoryState::end_as(RunRecord& record, const Outcome& outcome, const Call& call) {
  // An abort requested meanwhile wins over going back to the queue.
  const std::optional<std::string> abort_reason = record.abort_reason;
  release_lease(record);
  std::vector<RunSnapshot> changes;
  const std::string* holder = record.run.manager_id;  // the claimant
  const bool release = outcome.state == TaskState::interrupted && outcome.requeue;
  const bool retry = outcome.state == TaskState::failure && outcome.retry_in;
  if (release && abort_reason) {
    end_attempt(record, TaskState::aborted, *abort_reason, holder, call);
    make_final(record, call, changes);
  } else if (release) {
    end_attempt(record, TaskState::interrupted, outcome.error, holder, call);
    if (record.run.deliveries > 0) --record.run.deliveries;  // a graceful release is no delivery
    mark_requeued(record, changes);
    queue_again(record, record.place, call, changes);
  } else if (retry && !abort_reason) {
    end_attempt(record, TaskState::failure, outcome.error, holder, call);
    mark_requeued(record, changes);
    ++record.run.retry_attempt;
    record.run.deliveries = 0;  // a retry is a new attempt, not a redelivery
    record.run.execute_after = call.wall + *outcome.retry_in;
    queue_again(record, delayed_place(*outcome.retry_in, call), call, changes);
  } else {
    end_attempt(record, outcome.state, outcome.error, holder, call);
    make_final(record, call, changes);
  }
  return changes;
}

std::vector<TaskRun> MemoryState::reap(const std::string& manager_id, const Call& call) {
  std::vector<RunSnapshot> changes;
  const std::string* reaper = intern(manager_id);
  while (!leases_.empty() && leases_.begin()->first.first <= call.mono) {
    RunRecord& record = *leases_.begin()->second;
    const std::optional<std::string> abort_reason = record.abort_reason;
    release_lease(record);
    const unsigned deliveries = record.run.deliveries;
    if (abort_reason) {
      end_attempt(record, TaskState::aborted, *abort_reason, reaper, call);
      make_final(record, call, changes);
    } else if (deliveries >= record.max_deliveries) {
      const auto error = "lease expired " + std::to_string(deliveries) + " times: consumer lost";
      end_attempt(record, TaskState::failure, error, reaper, call);
      make_final(record, call, changes);
    } else {
      end_attempt(record, TaskState::interrupted, "lease expired", reaper, call);
      mark_requeued(record, changes);
      queue_again(record, record.place, call, changes);
    }
  }
  return runs_of(changes);
}

std::vector<TaskRun> MemoryState::request_abort(const std::string& run_id, const std::string& reason,
                                                const std::string& manager_id, const Call& call) {
  RunRecord* record = find(run_id);
  if (record == nullptr) throw UnknownRunError("unknown run '" + run_id + "'");
  std::vector<RunSnapshot> changes;
  if (record->run.state == TaskState::queued) {
    take_from_queue(*record);
    end_attempt(*record, TaskState::aborted, reason, intern(manager_id), call);
    make_final(*record, call, changes);
    wakeups_.work = true;  // a claim waiting for its due time looks at the next one
  } else if (record->run.state == TaskState::running && !record->abort_reason) {
    record->abort_reason = reason;
    RunSnapshot requested = record->run;
    requested.error = reason;
    requested.manager_id = intern(manager_id);
    record_event("abort", requested);
    changes.push_back(std::move(requested));
  }
  return runs_of(changes);
}

}  // namespace fluid::brokers
