// The process runner task_cli() installs: one child per attempt of a
// process-mode run (TASKS.md 2.13).

#include "fluid/tasks/detail/process_runner.hpp"

#include "fluid/tasks/errors.hpp"
#include "fluid/tasks/task_context.hpp"
#include "tasks/process/child_process.hpp"

#include <boost/asio/this_coro.hpp>

#include <set>
#include <string_view>

extern char** environ;

namespace fluid::detail {

namespace asio = boost::asio;

namespace {

/// This process's environment, plus TASK_MANAGER_SPAWN=true, the control
/// channel's descriptor and the task's env (which win).
std::vector<std::string> child_environment(const TaskDefinition& task) {
  const auto& extra = task.options().env;
  std::set<std::string, std::less<>> replaced = {"TASK_MANAGER_SPAWN", control_fd_variable};
  for (const auto& [name, value] : extra) replaced.insert(name);
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (!replaced.contains(text.substr(0, text.find('=')))) environment.emplace_back(text);
  }
  environment.emplace_back("TASK_MANAGER_SPAWN=true");
  environment.push_back(std::string(control_fd_variable) + "=" + std::to_string(control_child_fd));
  for (const auto& [name, value] : extra) environment.push_back(name + "=" + value);
  return environment;
}

/// Returns for a success; throws what the child reported, or how it ended without a report.
void raise_outcome(const ChildEnd& end) {
  if (!end.start_error.empty()) throw TaskProcessError("cannot start process: " + end.start_error);
  if (!end.outcome) throw TaskProcessError(describe_exit(end.wait_status));
  switch (end.outcome->state) {
    case TaskState::success: return;
    case TaskState::aborted: throw TaskAbortedError(end.outcome->error);
    default: throw TaskProcessError(end.outcome->error);
  }
}

Task<> run_in_child(ProcessEntryPoint entry_point, TaskContext& ctx) {
  const auto executor = co_await asio::this_coro::executor;
  auto child = std::make_shared<ChildProcess>(executor, ctx.id());
  SpawnRequest request{std::move(entry_point.executable), cpu_bound_command(std::move(entry_point.arguments), ctx.run()),
                       child_environment(ctx.task())};
  child->start(std::move(request), ChildRecord{ctx.run(), ctx.lease_token()});
  std::exception_ptr stopped;
  try {
    co_await child->finished();
  } catch (...) {
    stopped = std::current_exception();  // timeout, abort, lease lost or shutdown
  }
  if (stopped) {
    // The attempt is over, but not until the child is gone: the slot stays busy till then.
    co_await asio::this_coro::reset_cancellation_state();
    child->terminate();
    co_await child->finished();
    std::rethrow_exception(stopped);
  }
  raise_outcome(child->end());
}

}  // namespace

ProcessRunner make_process_runner(ProcessEntryPoint entry_point) {
  return [entry_point = std::move(entry_point)](TaskContext& ctx) { return run_in_child(entry_point, ctx); };
}

}  // namespace fluid::detail
