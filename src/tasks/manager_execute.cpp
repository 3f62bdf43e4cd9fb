// TaskManager::execute(): one attempt inline, as a consumer would run it,
// without the broker.

#include "fluid/log.hpp"
#include "fluid/tasks/errors.hpp"
#include "fluid/tasks/task_context.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "tasks/attempt.hpp"
#include "tasks/manager_core.hpp"
#include "tasks/verdict.hpp"

#include <boost/asio/this_coro.hpp>

namespace fluid {

Task<TaskRun> TaskManager::execute(std::string task, nlohmann::json params, EnqueueOptions options) {
  const auto core = core_;
  core->require_open();
  auto run = create_task_run(task, params, options);
  const auto& definition = core->task(run.task);
  run.state = TaskState::queued;
  run.queued = Clock::now();
  core->publish(run);
  run.state = TaskState::running;
  run.start = Clock::now();
  core->publish(run);

  const bool threaded = definition.options().execution == Execution::thread;
  boost::asio::any_io_executor executor = co_await boost::asio::this_coro::executor;
  if (threaded) executor = core->thread_executor();
  auto attempt = detail::TaskContextAccess::make_attempt(*this, definition, run, 0);
  const auto end = co_await detail::run_attempt(attempt, executor, !threaded, definition.options().timeout);
  // A stopped child is terminated (SIGTERM, then SIGKILL): the attempt ends once it is reaped,
  // as under a consumer. Other modes are not awaited: an executor may ignore its cancellation.
  if (end.how == detail::AttemptEnd::How::stopped && definition.cpu_bound() && !is_in_cpu_process()) {
    co_await detail::executor_finished(attempt->control);
  }

  const auto verdict = detail::judge(end, definition, run, false);
  run.end = Clock::now();
  run.state = verdict.state;
  run.error = verdict.error;
  core->publish(run);
  logger()->log(verdict.level, "{} - {} (executed inline){}{}", run.name_id(), to_string(run.state),
                run.error.empty() ? "" : ": ", run.error);
  if (end.how == detail::AttemptEnd::How::threw && run.state == TaskState::failure) std::rethrow_exception(end.error);
  if (end.cause == detail::StopCause::timeout) {
    throw TaskTimeoutError("task '" + run.task + "' run " + run.id + ": " + run.error);
  }
  co_return core->shown(std::move(run));
}

}  // namespace fluid
