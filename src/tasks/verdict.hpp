#pragma once
// How the end of an attempt is recorded: the table of outcomes in docs/tasks.md, in one
// place for execute() and the consumer.

#include "fluid/tasks/task_definition.hpp"
#include "fluid/tasks/task_run.hpp"
#include "tasks/attempt.hpp"

#include <spdlog/common.h>

#include <chrono>
#include <optional>
#include <string>

namespace fluid::detail {

struct Verdict {
  TaskState state = TaskState::success;               // success, failure, aborted or interrupted
  std::string error;                                  // failure message or abort reason
  bool record = true;                                 // false: the lease was lost, the run is a later attempt's
  bool requeue = false;                               // interrupted: released
  std::optional<std::chrono::milliseconds> retry_in;  // failure: retried after this
  spdlog::level::level_enum level = spdlog::level::info;
};

/// The verdict on `end`, an attempt of `run` of `task`; `retries` is false
/// under execute(), which never retries.
Verdict judge(const AttemptEnd& end, const TaskDefinition& task, const TaskRun& run, bool retries);

/// The error a consumer records for a run released on shutdown.
inline constexpr const char* released_on_shutdown = "released: its consumer stopped";

}  // namespace fluid::detail
