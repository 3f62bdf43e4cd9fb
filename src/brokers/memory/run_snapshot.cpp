#include "brokers/memory/run_snapshot.hpp"

namespace fluid::brokers {

RunSnapshot RunSnapshot::of(TaskRun&& run) {
  RunSnapshot snapshot;
  snapshot.identity = std::make_shared<const RunIdentity>(
      RunIdentity{std::move(run.id), std::move(run.task), run.priority, std::move(run.params),
                  std::move(run.from_run_id), std::move(run.root_run_id)});
  snapshot.state = run.state;
  snapshot.queued = run.queued;
  snapshot.start = run.start;
  snapshot.end = run.end;
  snapshot.execute_after = run.execute_after;
  snapshot.retry_attempt = run.retry_attempt;
  snapshot.rate_limit_attempt = run.rate_limit_attempt;
  snapshot.deliveries = run.deliveries;
  snapshot.error = std::move(run.error);
  snapshot.requeued = run.requeued;
  return snapshot;
}

TaskRun RunSnapshot::to_run() const {
  // Designated: params copied straight in, not over a default object.
  return TaskRun{.id = identity->id,
                 .task = identity->task,
                 .priority = identity->priority,
                 .params = identity->params,
                 .state = state,
                 .queued = queued,
                 .start = start,
                 .end = end,
                 .execute_after = execute_after,
                 .retry_attempt = retry_attempt,
                 .rate_limit_attempt = rate_limit_attempt,
                 .from_run_id = identity->from_run_id,
                 .root_run_id = identity->root_run_id,
                 .deliveries = deliveries,
                 .error = error,
                 .requeued = requeued,
                 .manager_id = manager_id != nullptr ? *manager_id : std::string()};
}

}  // namespace fluid::brokers
