#pragma once
/// @file
/// TaskContext: what an executor gets for one attempt of a run.

#include "fluid/task.hpp"
#include "fluid/tasks/task_definition.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "fluid/tasks/task_run.hpp"

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace fluid {

namespace detail {
struct AttemptControl;
struct TaskContextAccess;
}  // namespace detail

/// The executor's handle on its run: the run's data (params in clear), the
/// manager and its deps, the fencing token, the stop flag, and the way to
/// abort or to queue follow-up runs.
///
/// aio-fluid passes one TaskRun that is both the data and the handle; here
/// TaskRun is a value that crosses processes and this is the handle, valid
/// only while the attempt runs.
///
/// @warning Used only by its run's executor, on its executor.
class TaskContext {
 public:
  TaskContext(const TaskContext&) = delete;
  TaskContext& operator=(const TaskContext&) = delete;
  ~TaskContext();

  /// The run as claimed: id, attempts, lineage, params in clear.
  const TaskRun& run() const noexcept;
  /// run().id.
  const std::string& id() const noexcept;
  /// The run's params in clear (secret_params not masked), normalized.
  const nlohmann::json& params() const noexcept;
  /// The task being run.
  const TaskDefinition& task() const noexcept;
  /// The manager that claimed (or executes) the run.
  TaskManager& manager() const noexcept;
  /// The manager's deps.
  /// @throws FluidError if none were set, or they are not a D.
  template <class D>
  D& deps() const {
    return manager().deps<D>();
  }
  /// The claim's fencing token: greater than every token given before, so
  /// side effects outside the broker can reject a stale writer. 0 under execute().
  std::uint64_t lease_token() const noexcept;
  /// True once the attempt is being stopped (timeout, abort, lease lost,
  /// shutdown): for loops that do not await (an await ends with operation_aborted).
  bool is_cancelled() const noexcept;
  /// Ends the attempt aborted with `reason`: never retried.
  /// @throws TaskAbortedError, always.
  [[noreturn]] void abort(std::string reason = std::string()) const;
  /// manager().queue() of a follow-up run, with from_run_id this run and
  /// root_run_id this run's root (or this run when it has none).
  [[nodiscard]] Task<TaskRun> queue(std::string task, nlohmann::json params = nlohmann::json::object(),
                                    EnqueueOptions options = EnqueueOptions()) const;
  /// The "fluid" logger; lines about the run should name run().name_id().
  spdlog::logger& logger() const;

 private:
  friend struct detail::TaskContextAccess;
  TaskContext(TaskManager& manager, TaskDefinition task, TaskRun run, std::uint64_t lease_token,
              std::shared_ptr<detail::AttemptControl> control);

  TaskManager& manager_;
  TaskDefinition task_;
  TaskRun run_;
  std::uint64_t lease_token_;
  std::shared_ptr<detail::AttemptControl> control_;
};

}  // namespace fluid
