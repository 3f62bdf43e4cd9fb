#pragma once
// How the memory broker holds a run: what never changes once it is queued
// (id, task, priority, params, lineage) shared by its record, its events and
// its remembered finish, and the few fields each change sets. A TaskRun is
// made from them only for an answer or an event read.

#include "fluid/tasks/task_run.hpp"

#include <memory>
#include <optional>
#include <string>

namespace fluid::brokers {

/// What a run keeps for its whole life in the broker.
struct RunIdentity {
  std::string id;
  std::string task;
  TaskPriority priority = TaskPriority::medium;
  nlohmann::json params;
  std::string from_run_id;
  std::string root_run_id;
};

/// A run at one moment: cheap to copy (no allocation but `error`'s).
struct RunSnapshot {
  std::shared_ptr<const RunIdentity> identity;
  TaskState state = TaskState::queued;
  std::optional<TimePoint> queued, start, end, execute_after;
  unsigned retry_attempt = 0;
  unsigned rate_limit_attempt = 0;
  unsigned deliveries = 0;
  std::string error;
  bool requeued = false;
  const std::string* manager_id = nullptr;  ///< interned by the broker; null: none

  /// Takes the run apart: its identity moved out, the rest copied.
  static RunSnapshot of(TaskRun&& run);
  /// The TaskRun it stands for.
  TaskRun to_run() const;
  /// Done and not requeued (TaskRun::is_final()).
  bool is_final() const noexcept { return is_done(state) && !requeued; }
  const std::string& id() const noexcept { return identity->id; }
};

}  // namespace fluid::brokers
