#include "fluid/tasks/task_state.hpp"

#include <array>
#include <utility>

#include "fluid/config.hpp"

namespace fluid {

namespace {

constexpr std::array<std::pair<TaskState, std::string_view>, 8> state_names{{
    {TaskState::init, "init"},
    {TaskState::queued, "queued"},
    {TaskState::running, "running"},
    {TaskState::success, "success"},
    {TaskState::failure, "failure"},
    {TaskState::aborted, "aborted"},
    {TaskState::rate_limited, "rate_limited"},
    {TaskState::interrupted, "interrupted"},
}};

constexpr std::array<std::pair<TaskPriority, std::string_view>, 3> priority_names{{
    {TaskPriority::high, "high"},
    {TaskPriority::medium, "medium"},
    {TaskPriority::low, "low"},
}};

constexpr std::array<std::pair<Execution, std::string_view>, 3> execution_names{{
    {Execution::loop, "loop"},
    {Execution::thread, "thread"},
    {Execution::process, "process"},
}};

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& names, Enum value) noexcept {
  for (const auto& [candidate, name] : names) {
    if (candidate == value) return name;
  }
  return "unknown";
}

template <class Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                             std::string_view text) noexcept {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(TaskState state) noexcept { return name_of(state_names, state); }

std::string_view to_string(TaskPriority priority) noexcept { return name_of(priority_names, priority); }

std::string_view to_string(Execution execution) noexcept { return name_of(execution_names, execution); }

std::optional<TaskState> parse_task_state(std::string_view text) noexcept { return value_of(state_names, text); }

std::optional<TaskPriority> parse_task_priority(std::string_view text) noexcept {
  return value_of(priority_names, text);
}

bool is_done(TaskState state) noexcept {
  switch (state) {
    case TaskState::success:
    case TaskState::failure:
    case TaskState::aborted:
    case TaskState::rate_limited:
    case TaskState::interrupted: return true;
    case TaskState::init:
    case TaskState::queued:
    case TaskState::running: return false;
  }
  return false;
}

bool is_valid_transition(TaskState from, TaskState to) noexcept {
  using enum TaskState;
  switch (from) {
    case init: return to == queued;
    case queued: return to == running || to == aborted || to == rate_limited || to == failure;
    case running: return to == success || to == failure || to == aborted || to == interrupted;
    case failure:      // a retry
    case interrupted:  // a release or a reap
      return to == queued;
    case success:
    case aborted:
    case rate_limited: return false;
  }
  return false;
}

bool is_in_cpu_process() { return env("TASK_MANAGER_SPAWN") == "true"; }

}  // namespace fluid
