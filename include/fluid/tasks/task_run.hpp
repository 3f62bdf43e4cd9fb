#pragma once
/// @file
/// TaskRun and TaskInfo: the values that cross processes (events, HTTP, the
/// CLI, the broker), with their pinned JSON forms.

#include "fluid/tasks/task_state.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fluid {

/// One run of a task, as a snapshot: copyable, comparable through its JSON.
///
/// Every change of a run is made by the broker in one atomic step; a TaskRun
/// is what that step returned (or what an event carried). The run id never
/// changes across retries and requeues; each attempt has its own queued,
/// start and end.
struct TaskRun {
  std::string id;                                    ///< 32 lowercase hex (uuid4) unless given
  std::string task;                                  ///< the task name
  TaskPriority priority = TaskPriority::medium;      ///< the queue it waits in
  nlohmann::json params = nlohmann::json::object();  ///< normalized
  TaskState state = TaskState::init;
  std::optional<TimePoint> queued;         ///< this attempt was queued (broker clock)
  std::optional<TimePoint> start;          ///< this attempt was claimed
  std::optional<TimePoint> end;            ///< this attempt ended
  std::optional<TimePoint> execute_after;  ///< not claimable before; unset unless delayed
  unsigned retry_attempt = 0;              ///< retries so far
  unsigned rate_limit_attempt = 0;         ///< rate-limit retries so far
  std::string from_run_id;                 ///< the run that queued this one (TaskContext::queue)
  std::string root_run_id;                 ///< the first run of that chain
  unsigned deliveries = 0;                 ///< claims, less graceful releases
  std::string error;                       ///< failure message or abort reason
  bool requeued = false;                   ///< this attempt ended and the run went back to the queue
  std::string manager_id;                  ///< the manager that made this change

  /// is_done(state).
  bool is_done() const noexcept;
  /// Done and not requeued: nothing more will happen to this run.
  bool is_final() const noexcept;
  /// state == failure.
  bool is_failure() const noexcept;
  /// "<task>.<id>".
  std::string name_id() const;
  /// start - queued, once started.
  std::optional<std::chrono::microseconds> in_queue() const;
  /// end - start, once done (and started).
  std::optional<std::chrono::microseconds> duration() const;
  /// end - queued, once done.
  std::optional<std::chrono::microseconds> total() const;
  /// duration() in milliseconds, rounded to 0.01.
  std::optional<double> duration_ms() const;
};

/// Every field, always present (an unset optional is null); times as
/// format_time(); enums as their to_string().
void to_json(nlohmann::json& out, const TaskRun& run);
/// The inverse of to_json(). Missing fields take their defaults and unknown
/// ones are ignored; anything present must have its JSON type (no coercion:
/// "5" is not a number) and a well-formed value. `run` is changed only on
/// success.
/// @throws FluidError naming the field and quoting the value, or for input
///         that is not an object.
void from_json(const nlohmann::json& in, TaskRun& run);

/// What a manager knows of a task: its static part plus the broker's dynamic
/// part (enabled, last run), shared by every process on the broker.
struct TaskInfo {
  std::string name;
  std::string description;
  std::string short_description;  ///< the description's first line
  std::string module;
  TaskPriority priority = TaskPriority::medium;
  std::optional<std::string> schedule;  ///< Schedule::to_string()
  std::vector<std::string> tags;        ///< sorted, unique
  bool enabled = true;
  std::optional<TimePoint> last_run_end;
  std::optional<std::chrono::microseconds> last_run_duration;
  std::optional<TaskState> last_run_state;
  std::size_t max_concurrency = 0;
  double timeout_seconds = 60;
  bool cpu_bound = false;
};

/// Every field, always present; times as format_time(), last_run_duration
/// as format_duration().
void to_json(nlohmann::json& out, const TaskInfo& info);
/// The inverse of to_json(), as strict as TaskRun's.
/// @throws FluidError naming the field and quoting the value.
void from_json(const nlohmann::json& in, TaskInfo& info);

/// A time as the JSON carries it: RFC 3339 in UTC with `Z`, with six
/// fractional digits only when the microseconds are not zero
/// ("2024-01-15T12:00:00Z", "2024-01-15T12:00:00.250000Z"; pydantic's form).
/// Sub-microsecond precision is dropped (floored).
std::string format_time(TimePoint time);
/// The time of an RFC 3339 string: `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z`
/// or `+HH:MM` / `-HH:MM` (`t` and `z` allowed; 1 to 9 fractional digits,
/// truncated to microseconds). nullopt for anything else, an impossible date
/// or time (no leap second), or a time outside TimePoint's range.
std::optional<TimePoint> parse_time(std::string_view text) noexcept;
/// A duration as the JSON carries it: ISO 8601 in seconds only, up to six
/// decimals, no trailing zeros ("PT0.2S", "PT90S", "PT0S", "-PT1.5S").
std::string format_duration(std::chrono::microseconds duration);
/// The duration of format_duration()'s form: `[-]PT<digits>[.<1 to 9
/// digits>]S`, truncated to microseconds. nullopt for anything else
/// (minutes, hours, days included) or a value out of range.
std::optional<std::chrono::microseconds> parse_duration(std::string_view text) noexcept;

/// How queue() places one run.
struct EnqueueOptions {
  /// "": a new id; an id the broker already knows is not queued twice.
  std::string run_id;
  /// nullopt: the task's priority.
  std::optional<TaskPriority> priority;
  /// > 0: execute_after = now + delay (the run is queued, visible and
  /// abortable at once, claimable only then).
  std::chrono::milliseconds delay{0};
};

}  // namespace fluid
