#pragma once
/// @file
/// TaskDefinition and make_task(): a named executor with its options.

#include "fluid/task.hpp"
#include "fluid/tasks/retry_policy.hpp"
#include "fluid/tasks/schedule.hpp"
#include "fluid/tasks/task_run.hpp"
#include "fluid/tasks/task_state.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluid {

/// How a task runs: its queue, limits, schedule, retries and mode.
struct TaskOptions {
  std::string description;  ///< its first line is the short description
  std::string module;       ///< informational (TaskInfo.module)
  TaskPriority priority = TaskPriority::medium;
  std::optional<Schedule> schedule;                      ///< fired by a TaskScheduler only
  std::function<std::chrono::milliseconds()> randomize;  ///< extra delay of each scheduled run
  std::size_t max_concurrency = 0;                       ///< 0: no limit; across every consumer of the broker
  std::chrono::milliseconds timeout{60'000};
  Execution execution = Execution::loop;
  std::vector<std::string> tags;                ///< kept sorted and unique by make_task()
  std::optional<RetryPolicy> retry;             ///< on failure
  std::optional<RetryPolicy> rate_limit_retry;  ///< at max_concurrency (retry_if unused)
  std::map<std::string, std::string> env;       ///< Execution::process only
  std::vector<std::string> secret_params;       ///< top-level keys masked outside executor and broker
};

class TaskContext;

/// The type-erased body of a task: what a consumer awaits for one attempt,
/// given the run's context and its params (ctx.params(), passed apart so
/// that this header needs no TaskContext).
using TaskExecutor = std::function<Task<>(TaskContext&, const nlohmann::json&)>;
/// Checks a params object and returns its normalized form; throws
/// TaskParamsError with the reason (without the task's name).
using ParamsNormalizer = std::function<nlohmann::json(const nlohmann::json&)>;

/// The most a run's params may take, encoded as JSON.
inline constexpr std::size_t max_params_bytes = 1 << 20;

/// What a secret param's value reads outside the executor and the broker.
inline constexpr std::string_view secret_mask = "**********";

/// The rule for task names and run ids: 1 to 64 of [A-Za-z0-9_-], not
/// starting with '-' (they appear in URLs, Redis keys and CLI commands).
bool is_valid_task_name(std::string_view name) noexcept;

class TaskDefinition;
namespace detail {
/// Checks name, options and retry policies (2.1.1, 2.8.1) and builds the task.
/// @throws FluidError naming the task and what is wrong.
TaskDefinition define_task(std::string name, TaskExecutor executor, ParamsNormalizer normalize, TaskOptions options);
}  // namespace detail

/// aio-fluid's Task: a name, an executor and TaskOptions. Immutable and cheap
/// to copy: copies share the executor, and every copy and every run in flight
/// keeps the callable (and a lambda's captures) alive. Made by make_task().
/// Being immutable, it may be copied and read from any thread.
class TaskDefinition {
 public:
  /// 1 to 64 of [A-Za-z0-9_-], not starting with '-'.
  const std::string& name() const noexcept;
  const TaskOptions& options() const noexcept;
  /// The description's first line that is not blank, trimmed.
  std::string short_description() const;
  /// options().execution == Execution::process.
  bool cpu_bound() const noexcept;
  /// The params a run of this task stores: a JSON object, at most
  /// max_params_bytes encoded, parsed and re-encoded by a typed task (the
  /// untyped store it as given).
  /// @throws TaskParamsError("invalid params for task 'x': <reason>").
  nlohmann::json normalize_params(const nlohmann::json& params) const;
  /// Awaits the executor for one attempt of the run `ctx` belongs to, with
  /// that run's `params` (ctx.params()), keeping the executor alive until it
  /// ends, even if every copy of this definition is gone. A typed task
  /// parses `params` during this call (they are not referred to afterwards);
  /// when they do not fit P, awaiting throws TaskParamsError("invalid params
  /// for task 'x': ...") and the executor does not run. Every error is
  /// thrown when awaited.
  Task<> execute(TaskContext& ctx, const nlohmann::json& params) const;
  /// The static part of the task's TaskInfo (aio-fluid's Task.info()); the
  /// broker adds enabled and last_run_*.
  TaskInfo info() const;
  /// This task with `extra` tags added to its own (register_task's union).
  TaskDefinition with_tags(const std::vector<std::string>& extra) const;

 private:
  struct Shared;
  explicit TaskDefinition(std::shared_ptr<const Shared> shared);
  friend TaskDefinition detail::define_task(std::string, TaskExecutor, ParamsNormalizer, TaskOptions);
  std::shared_ptr<const Shared> shared_;
};

/// The registry of a manager: tasks by name.
using TaskRegistry = std::map<std::string, TaskDefinition, std::less<>>;

/// A copy of `run` whose params have the task's secret_params keys (those
/// present) replaced by secret_mask: what logs, events, HTTP answers and CLI
/// tables show. The broker's record keeps them in clear.
TaskRun mask_secret_params(TaskRun run, const TaskDefinition& task);

namespace detail {

/// Throws TaskParamsError with nlohmann's `what` made readable: its
/// "[json.exception...] " prefix dropped, and "field 'k': " before it when
/// `field` is known.
[[noreturn]] void throw_params_error(std::string_view what, std::string_view field = {});

template <class P>
concept has_validate = requires(const P& params) {
  params.validate();
};

/// The top-level key of `params` whose value P cannot take (a wrong JSON
/// type), found by trying each on P's defaults; "" when none is.
template <class P>
std::string mistyped_field(const nlohmann::json& params) noexcept {
  try {
    const nlohmann::json defaults = P{};
    if (!defaults.is_object() || !params.is_object()) return {};
    for (const auto& [key, value] : params.items()) {
      if (!defaults.contains(key)) continue;
      nlohmann::json probe = defaults;
      probe[key] = value;
      try {
        (void)probe.get<P>();
      } catch (const nlohmann::json::exception&) {
        return key;
      }
    }
  } catch (...) {
    // P{} cannot be encoded: no field to point at.
  }
  return {};
}

/// Parses `params` into P (missing required key, wrong JSON type, a
/// throwing from_json or validate() is TaskParamsError with the reason).
template <class P>
P parse_params(const nlohmann::json& params) {
  P parsed{};
  try {
    parsed = params.get<P>();
  } catch (const nlohmann::json::exception& e) {
    throw_params_error(e.what(), mistyped_field<P>(params));
  } catch (const std::exception& e) {  // a hand-written from_json's own error
    throw_params_error(e.what());
  }
  if constexpr (has_validate<P>) {
    try {
      parsed.validate();
    } catch (const std::exception& e) {
      throw_params_error(e.what());
    } catch (...) {
      throw_params_error("validate() threw an unknown exception");
    }
  }
  return parsed;
}

template <class P>
nlohmann::json normalize_typed(const nlohmann::json& params) {
  return nlohmann::json(parse_params<P>(params));
}

// The frame owns the parsed params and a share of the executor for as long
// as the attempt runs.
template <class P, class F>
Task<> run_typed(std::shared_ptr<F> executor, TaskContext& ctx, P params) {
  co_await std::invoke(*executor, ctx, std::as_const(params));
}

template <class F>
Task<> run_untyped(std::shared_ptr<F> executor, TaskContext& ctx) {
  co_await std::invoke(*executor, ctx);
}

}  // namespace detail

/// A typed task: `executor` is Task<>(TaskContext&, const P&). P is
/// default-constructible and nlohmann-convertible both ways
/// (NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE[_WITH_DEFAULT]); a member
/// `void validate() const` is called after parsing when P has one. The run
/// stores to_json(P), the normalized params.
/// @throws FluidError for a bad name, timeout, retry policy, env or secret_params.
template <class P, class F>
requires std::invocable<F&, TaskContext&, const P&> TaskDefinition make_task(std::string name, F executor,
                                                                             TaskOptions options = {}) {
  auto shared = std::make_shared<F>(std::move(executor));
  TaskExecutor run = [shared](TaskContext& ctx, const nlohmann::json& params) {
    return detail::run_typed<P>(shared, ctx, detail::parse_params<P>(params));
  };
  return detail::define_task(std::move(name), std::move(run), &detail::normalize_typed<P>, std::move(options));
}

/// An untyped task: `executor` is Task<>(TaskContext&); its params are
/// ctx.params(), any JSON object, stored as given.
/// @throws FluidError as the typed make_task().
template <class F>
requires std::invocable<F&, TaskContext&> TaskDefinition make_task(std::string name, F executor,
                                                                   TaskOptions options = {}) {
  auto shared = std::make_shared<F>(std::move(executor));
  TaskExecutor run = [shared](TaskContext& ctx, const nlohmann::json&) { return detail::run_untyped(shared, ctx); };
  return detail::define_task(std::move(name), std::move(run), ParamsNormalizer{}, std::move(options));
}

}  // namespace fluid
