#pragma once
/// @file
/// TaskDefinition and make_task(): a named executor with its options.

#include "fluid/task.hpp"
#include "fluid/tasks/retry_policy.hpp"
#include "fluid/tasks/schedule.hpp"
#include "fluid/tasks/task_state.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fluid {

/// How a task runs: its queue, limits, schedule, retries and mode.
struct TaskOptions {
  std::string description;  ///< its first line is the short description
  std::string module;       ///< informational (TaskInfo.module)
  TaskPriority priority = TaskPriority::medium;
  std::optional<Schedule> schedule;                       ///< fired by a TaskScheduler only
  std::function<std::chrono::milliseconds()> randomize;  ///< extra delay of each scheduled run
  std::size_t max_concurrency = 0;  ///< 0: no limit; across every consumer of the broker
  std::chrono::milliseconds timeout{60'000};
  Execution execution = Execution::loop;
  std::vector<std::string> tags;
  std::optional<RetryPolicy> retry;             ///< on failure
  std::optional<RetryPolicy> rate_limit_retry;  ///< at max_concurrency (retry_if unused)
  std::map<std::string, std::string> env;       ///< Execution::process only
  std::vector<std::string> secret_params;       ///< top-level keys masked outside executor and broker
};

class TaskContext;

/// The type-erased body of a task: what a consumer awaits for one attempt.
using TaskExecutor = std::function<Task<>(TaskContext&)>;
/// Checks a params object and returns its normalized form; throws
/// TaskParamsError with the reason (without the task's name).
using ParamsNormalizer = std::function<nlohmann::json(const nlohmann::json&)>;

class TaskDefinition;
namespace detail {
/// Checks name, options and retry policies (2.1.1, 2.8.1) and builds the task.
/// @throws FluidError naming the task and what is wrong.
TaskDefinition define_task(std::string name, TaskExecutor executor, ParamsNormalizer normalize, TaskOptions options);
/// The params of the run `ctx` belongs to (TaskContext is defined later).
const nlohmann::json& params_of(const TaskContext& ctx) noexcept;
}  // namespace detail

/// aio-fluid's Task: a name, an executor and TaskOptions. Immutable and cheap
/// to copy: copies share the executor, and every copy and every run in flight
/// keeps the callable (and a lambda's captures) alive. Made by make_task().
class TaskDefinition {
 public:
  /// 1 to 64 of [A-Za-z0-9_-], not starting with '-'.
  const std::string& name() const noexcept;
  const TaskOptions& options() const noexcept;
  /// The description's first line.
  std::string short_description() const;
  /// options().execution == Execution::process.
  bool cpu_bound() const noexcept;
  /// The params a run of this task stores: a JSON object, at most 1 MiB
  /// encoded, parsed and re-encoded by a typed task.
  /// @throws TaskParamsError("invalid params for task 'x': <reason>").
  nlohmann::json normalize_params(const nlohmann::json& params) const;
  /// Awaits the executor for one attempt, keeping it alive until it ends.
  Task<> execute(TaskContext& ctx) const;

 private:
  struct Shared;
  explicit TaskDefinition(std::shared_ptr<const Shared> shared);
  friend TaskDefinition detail::define_task(std::string, TaskExecutor, ParamsNormalizer, TaskOptions);
  std::shared_ptr<const Shared> shared_;
};

/// The registry of a manager: tasks by name.
using TaskRegistry = std::map<std::string, TaskDefinition, std::less<>>;

namespace detail {

/// Throws TaskParamsError(reason) (out of line: the reason gets no task name here).
[[noreturn]] void throw_params_error(const std::string& reason);

template <class P>
concept has_validate = requires(const P& params) { params.validate(); };

/// Parses `params` into P (missing required key, wrong JSON type or a
/// throwing validate() is TaskParamsError with the reason).
template <class P>
P parse_params(const nlohmann::json& params) {
  P parsed{};
  try {
    parsed = params.get<P>();
  } catch (const nlohmann::json::exception& e) {
    throw_params_error(e.what());
  }
  if constexpr (has_validate<P>) {
    try {
      parsed.validate();
    } catch (const std::exception& e) {
      throw_params_error(e.what());
    }
  }
  return parsed;
}

template <class P>
nlohmann::json normalize_typed(const nlohmann::json& params) {
  return nlohmann::json(parse_params<P>(params));
}

template <class P, class F>
Task<> run_typed(std::shared_ptr<F> executor, TaskContext& ctx) {
  const P params = parse_params<P>(params_of(ctx));
  co_await std::invoke(*executor, ctx, params);
}

}  // namespace detail

/// A typed task: `executor` is Task<>(TaskContext&, const P&). P is
/// default-constructible and nlohmann-convertible both ways
/// (NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE[_WITH_DEFAULT]); a member
/// `void validate() const` is called after parsing when P has one. The run
/// stores to_json(P), the normalized params.
/// @throws FluidError for a bad name, timeout, retry policy, env or secret_params.
template <class P, class F>
  requires std::invocable<F&, TaskContext&, const P&>
TaskDefinition make_task(std::string name, F executor, TaskOptions options = {}) {
  auto shared = std::make_shared<F>(std::move(executor));
  TaskExecutor run = [shared](TaskContext& ctx) { return detail::run_typed<P>(shared, ctx); };
  return detail::define_task(std::move(name), std::move(run), &detail::normalize_typed<P>, std::move(options));
}

/// An untyped task: `executor` is Task<>(TaskContext&); its params are
/// ctx.params(), any JSON object, stored as given.
/// @throws FluidError as the typed make_task().
template <class F>
  requires std::invocable<F&, TaskContext&>
TaskDefinition make_task(std::string name, F executor, TaskOptions options = {}) {
  auto shared = std::make_shared<F>(std::move(executor));
  TaskExecutor run = [shared](TaskContext& ctx) -> Task<> { return std::invoke(*shared, ctx); };
  return detail::define_task(std::move(name), std::move(run), ParamsNormalizer{}, std::move(options));
}

}  // namespace fluid
