#include "fluid/tasks/task_context.hpp"

#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/errors.hpp"
#include "tasks/attempt.hpp"

namespace fluid {

TaskContext::TaskContext(TaskManager& manager, TaskDefinition task, TaskRun run, std::uint64_t lease_token,
                         std::shared_ptr<detail::AttemptControl> control)
    : manager_(manager),
      task_(std::move(task)),
      run_(std::move(run)),
      lease_token_(lease_token),
      control_(std::move(control)) {}

TaskContext::~TaskContext() = default;

const TaskRun& TaskContext::run() const noexcept { return run_; }
const std::string& TaskContext::id() const noexcept { return run_.id; }
const nlohmann::json& TaskContext::params() const noexcept { return run_.params; }
const TaskDefinition& TaskContext::task() const noexcept { return task_; }
TaskManager& TaskContext::manager() const noexcept { return manager_; }
std::uint64_t TaskContext::lease_token() const noexcept { return lease_token_; }

bool TaskContext::is_cancelled() const noexcept { return control_->cancelled.load(std::memory_order_acquire); }

void TaskContext::abort(std::string reason) const { throw TaskAbortedError(reason); }

Task<TaskRun> TaskContext::queue(std::string task, nlohmann::json params, EnqueueOptions options) const {
  if (is_in_cpu_process() && manager_.broker().url().starts_with("memory:")) {
    throw FluidError("run " + run_.name_id() + ": ctx.queue() in a process-mode child needs a shared broker; " +
                     manager_.broker().url() + " is this child's own memory broker, not its parent's");
  }
  auto root = run_.root_run_id.empty() ? run_.id : run_.root_run_id;
  co_return co_await manager_.queue_from(std::move(task), std::move(params), std::move(options), run_.id,
                                         std::move(root));
}

spdlog::logger& TaskContext::logger() const { return *fluid::logger(); }

namespace detail {

std::shared_ptr<Attempt> TaskContextAccess::make_attempt(TaskManager& manager, TaskDefinition task, TaskRun run,
                                                         std::uint64_t lease_token) {
  auto attempt = std::make_shared<Attempt>();
  attempt->control = std::make_shared<AttemptControl>();
  attempt->context.reset(new TaskContext(manager, std::move(task), std::move(run), lease_token, attempt->control));
  return attempt;
}

}  // namespace detail

}  // namespace fluid
