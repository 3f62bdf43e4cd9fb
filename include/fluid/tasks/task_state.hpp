#pragma once
/// @file
/// The task queue's vocabulary: a run's states, the priorities it is queued
/// under, and where its executor runs.

#include <chrono>
#include <optional>
#include <string_view>

namespace fluid {

/// The clock of every time a run carries (queued, start, end, execute_after).
using Clock = std::chrono::system_clock;
/// A moment on Clock.
using TimePoint = Clock::time_point;

/// Where a run is in its life (the table of is_valid_transition()).
enum class TaskState {
  init,          ///< built, not yet handed to the broker
  queued,        ///< held by the broker, waiting to be claimed (maybe delayed)
  running,       ///< claimed by a consumer, its executor running under a lease
  success,       ///< the executor returned
  failure,       ///< the executor threw, timed out, or its params were rejected
  aborted,       ///< aborted by the executor, by abort(), or its task was disabled
  rate_limited,  ///< met its task's max_concurrency with no rate-limit retry left
  interrupted,   ///< its consumer stopped or lost it; queued again (requeued)
};

/// The queue a run waits in: claimed strictly in this order, FIFO within one.
enum class TaskPriority { high, medium, low };

/// Where a task's executor runs.
enum class Execution {
  loop,     ///< on a strand of the consumer's event loop: must not block
  thread,   ///< on a shared thread pool: for blocking or CPU-heavy code
  process,  ///< in a child process (aio-fluid's cpu_bound), started through task_cli()
};

/// "init", "queued", "running", "success", "failure", "aborted", "rate_limited", "interrupted".
std::string_view to_string(TaskState state) noexcept;
/// "high", "medium", "low".
std::string_view to_string(TaskPriority priority) noexcept;
/// "loop", "thread", "process".
std::string_view to_string(Execution execution) noexcept;

/// The state named `text` (as to_string() spells it); nullopt for anything else.
std::optional<TaskState> parse_task_state(std::string_view text) noexcept;
/// The priority named `text` (as to_string() spells it); nullopt for anything else.
std::optional<TaskPriority> parse_task_priority(std::string_view text) noexcept;

/// True for the states an attempt ends in: success, failure, aborted,
/// rate_limited, interrupted.
bool is_done(TaskState state) noexcept;

/// Whether a run may move `from` -> `to`. The same state twice is no
/// transition (false). The table:
///   init -> queued; queued -> running, aborted, rate_limited, failure;
///   running -> success, failure, aborted, interrupted;
///   failure -> queued (a retry); interrupted -> queued (a release or reap).
bool is_valid_transition(TaskState from, TaskState to) noexcept;

/// True inside a process-mode child: env TASK_MANAGER_SPAWN is "true".
bool is_in_cpu_process();

}  // namespace fluid
