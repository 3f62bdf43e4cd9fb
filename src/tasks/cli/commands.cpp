#include "tasks/cli/commands.hpp"

#include "fluid/config.hpp"
#include "fluid/serve.hpp"
#include "fluid/tasks/task_api_server.hpp"
#include "fluid/tasks/detail/process_runner.hpp"
#include "fluid/tasks/errors.hpp"
#include "fluid/tasks/task_consumer.hpp"
#include "fluid/workers.hpp"
#include "tasks/cli/field_options.hpp"
#include "tasks/cli/tables.hpp"
#include "tasks/process/child_side.hpp"

#include <algorithm>
#include <functional>
#include <iostream>
#include <optional>

namespace fluid::detail {

namespace {

/// Opens the manager, awaits `body`, and closes the manager on every path.
template <class T>
Task<T> opened(TaskManager& manager, std::function<Task<T>()> body) {
  co_await manager.open();
  std::optional<T> result;
  std::exception_ptr error;
  try {
    result.emplace(co_await body());
  } catch (...) {
    error = std::current_exception();
  }
  try {
    co_await manager.close();
  } catch (...) {
    if (!error) error = std::current_exception();
  }
  if (error) std::rethrow_exception(error);
  co_return std::move(*result);
}

/// `body` on a fresh event loop, with the manager open around it.
template <class T>
T run_opened(TaskManager& manager, std::function<Task<T>()> body) {
  return fluid::run(opened<T>(manager, std::move(body)));
}

const TaskDefinition& known_task(const TaskManager& manager, const std::string& name) {
  const auto found = manager.registry().find(name);
  if (found == manager.registry().end()) throw UnknownTaskError("unknown task '" + name + "'");
  return found->second;
}

std::string description_of(const TaskManager& manager, const std::string& task) {
  const auto found = manager.registry().find(task);
  return found == manager.registry().end() ? std::string() : found->second.short_description();
}

/// `parse()`, its FluidError made a usage error (exit 2).
template <class F>
auto usage_checked(F parse) {
  try {
    return parse();
  } catch (const FluidError& e) {
    throw CliUsageError(e.what());
  }
}

bool has_any_tag(const TaskInfo& task, const std::vector<std::string>& tags) {
  return std::any_of(tags.begin(), tags.end(), [&task](const std::string& tag) {
    return std::find(task.tags.begin(), task.tags.end(), tag) != task.tags.end();
  });
}

/// Opens a plain TaskManager for as long as it is served (a consumer opens itself).
class OpenManager : public Worker {
 public:
  explicit OpenManager(std::shared_ptr<TaskManager> manager)
      : Worker({.name = "task_manager"}), manager_(std::move(manager)) {}

 protected:
  Task<> on_startup() override { co_await manager_->open(); }
  Task<> run() override { co_await stop_requested(); }
  Task<> on_shutdown() override { co_await manager_->close(); }

 private:
  std::shared_ptr<TaskManager> manager_;
};

Task<std::vector<TaskInfo>> all_tasks(TaskManager& manager) { co_return co_await manager.tasks_info(); }

Task<TaskRun> execute_run(TaskManager& manager, std::string task, nlohmann::json params, EnqueueOptions options) {
  co_return co_await manager.execute(std::move(task), std::move(params), std::move(options));
}

Task<TaskRun> queue_run(TaskManager& manager, std::string task, nlohmann::json params, EnqueueOptions options) {
  co_return co_await manager.queue(std::move(task), std::move(params), std::move(options));
}

Task<TaskInfo> set_enabled(TaskManager& manager, std::string task, bool enable) {
  co_return co_await manager.enable_task(std::move(task), enable);
}

Task<TaskRun> abort_run(TaskManager& manager, std::string run_id, std::string reason) {
  co_return co_await manager.abort(std::move(run_id), std::move(reason));
}

Task<TaskRun> read_run(TaskManager& manager, std::string run_id) {
  auto run = co_await manager.get_run(run_id);
  if (!run) throw UnknownRunError("unknown run '" + run_id + "'");
  co_return std::move(*run);
}

}  // namespace

int ls_command(TaskManager& manager, const CliOptions& options) {
  auto tasks = run_opened<std::vector<TaskInfo>>(manager, [&manager] { return all_tasks(manager); });
  if (!options.tags.empty()) {
    std::erase_if(tasks, [&options](const TaskInfo& task) { return !has_any_tag(task, options.tags); });
  }
  std::cout << tasks_table(tasks);
  return 0;
}

int exec_command(TaskManager& manager, const CliOptions& options) {
  if (const auto channel = parent_channel()) {
    // A process-mode child: the run comes from the parent, and so does the report.
    const auto outcome = run_opened<ChildOutcome>(manager, [&manager, fd = *channel] {
      return run_for_parent(manager, fd);
    });
    return outcome.state == TaskState::failure ? 1 : 0;
  }
  const auto& task = known_task(manager, options.task);
  auto params = usage_checked([&options] { return exec_params(options.fields, options.params); });
  const EnqueueOptions enqueue{.run_id = options.run_id};
  const auto run = run_opened<TaskRun>(manager, [&] { return execute_run(manager, options.task, params, enqueue); });
  if (!is_in_cpu_process()) std::cout << run_table(run, task.short_description());
  return 0;
}

int serve_command(std::shared_ptr<TaskManager> manager, const CliOptions& options) {
  std::shared_ptr<Worker> tasks = std::dynamic_pointer_cast<TaskConsumer>(manager);
  if (!tasks) tasks = std::make_shared<OpenManager>(manager);
  // The root outlasts the consumer's own grace, and a child process's SIGKILL delay.
  Workers root({tasks}, {.name = "task_cli", .stopping_grace_period = tasks->stopping_grace_period() +
                                                                       terminate_grace_period});
  // The task routes and the dashboard beside the status routes; actions stay
  // off (403): the command line cannot tell who may reach the port.
  root.add_workers(std::make_shared<TaskApiServer>(
      *manager, TaskApiOptions{.http = {.address = options.host, .port = options.port}, .target = &root}));
  return serve(root);
}

int enable_command(TaskManager& manager, const CliOptions& options) {
  known_task(manager, options.task);
  run_opened<TaskInfo>(manager, [&] { return set_enabled(manager, options.task, !options.disable); });
  return 0;
}

int queue_command(TaskManager& manager, const CliOptions& options) {
  known_task(manager, options.task);
  EnqueueOptions enqueue{.run_id = options.run_id};
  if (!options.priority.empty()) enqueue.priority = parse_task_priority(options.priority);
  if (!options.delay.empty()) {
    enqueue.delay = usage_checked([&options] { return parse_seconds(options.delay, "--delay"); });
  }
  auto params = usage_checked([&options] { return exec_params({}, options.params); });
  const auto run = run_opened<TaskRun>(manager, [&] { return queue_run(manager, options.task, params, enqueue); });
  std::cout << run.id << "\n";
  return 0;
}

int abort_command(TaskManager& manager, const CliOptions& options) {
  const auto run = run_opened<TaskRun>(manager, [&] { return abort_run(manager, options.run_id, options.reason); });
  std::cout << run_table(run, description_of(manager, run.task));
  return 0;
}

int show_command(TaskManager& manager, const CliOptions& options) {
  const auto run = run_opened<TaskRun>(manager, [&] { return read_run(manager, options.run_id); });
  std::cout << nlohmann::json(run).dump(2) << "\n";
  return 0;
}

}  // namespace fluid::detail
