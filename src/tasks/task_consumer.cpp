#include "fluid/tasks/task_consumer.hpp"

#include "fluid/config.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/detail/process_runner.hpp"
#include "fluid/tasks/errors.hpp"
#include "fluid/worker_function.hpp"
#include "tasks/manager_core.hpp"
#include "tasks/runner.hpp"

#include <chrono>

namespace fluid {

using std::chrono::milliseconds;

namespace {

// aio-fluid: every second, with a 5 s time to live.
constexpr milliseconds status_interval{1000};
constexpr milliseconds status_ttl{5000};

milliseconds run_grace(const WorkerOptions& worker) {
  return resolve_stopping_grace_period(worker.stopping_grace_period,
                                       worker.name.empty() ? std::string("task_consumer") : worker.name);
}

/// The group's own options: its name, and twice the runs' grace (aio-fluid).
WorkersOptions group_options(const WorkerOptions& worker) {
  return {.name = worker.name, .stopping_grace_period = 2 * run_grace(worker)};
}

Task<> publish_status(TaskConsumer& consumer) {
  try {
    auto status = co_await consumer.status();
    nlohmann::json published = {{"kind", consumer.type()}, {"status", std::move(status)}};
    co_await consumer.broker().set_manager_status(consumer.manager_id(), std::move(published), status_ttl);
  } catch (...) {
    logger()->warn("{}: publishing its status failed: {}", consumer.worker_name(),
                   error_message(std::current_exception()));
  }
}

void warn_about_process_tasks(const TaskRegistry& registry, const std::string& name) {
  if (detail::process_runner()) return;
  for (const auto& [task_name, task] : registry) {
    if (!task.cpu_bound()) continue;
    logger()->warn(
        "{}: task '{}' runs in a child process (Execution::process) and the program's main() is not "
        "fluid::task_cli(): its runs will fail",
        name, task_name);
  }
}

}  // namespace

TaskConsumer::TaskConsumer(TaskManagerConfig config, WorkerOptions worker)
    : TaskManager(std::move(config)), Workers({}, group_options(worker)) {
  core()->type = "task_consumer";
  const auto grace = run_grace(worker);
  // The runner has the group's grace: it gives the runs `grace` itself, then
  // releases them, and the group forces it only past that.
  runner_ = std::make_shared<detail::RunnerWorker>(
      *this, core(), grace, WorkerOptions{.name = "task_runner", .stopping_grace_period = 2 * grace});
  std::weak_ptr<detail::RunnerWorker> runner = runner_;
  core()->on_feed_event = [runner](const TaskEvent& event) {
    if (auto alive = runner.lock()) alive->on_feed_event(event);
  };
  add_workers(runner_);
  add_workers(
      std::make_shared<WorkerFunction>([this] { return publish_status(*this); }, status_interval,
                                       WorkerOptions{.name = "manager_status", .stopping_grace_period = grace}));
}

TaskConsumer::~TaskConsumer() = default;

std::string TaskConsumer::type() const { return "task_consumer"; }

std::size_t TaskConsumer::running() const noexcept { return runner_->running(); }

Task<nlohmann::json> TaskConsumer::status() {
  auto out = co_await Workers::status();
  out["tasks"] = runner_->tasks_status();
  co_return out;
}

Task<> TaskConsumer::on_startup() {
  if (is_in_cpu_process()) {
    throw CpuBoundEntryPointError(worker_name() +
                                  ": a consumer cannot start inside a process-mode child (TASK_MANAGER_SPAWN=true)");
  }
  warn_about_process_tasks(registry(), worker_name());
  co_await open();
  co_await Workers::on_startup();
  co_await publish_status(*this);  // a started consumer is listed at once
}

Task<> TaskConsumer::on_shutdown() {
  std::exception_ptr failure;
  try {
    co_await Workers::on_shutdown();
  } catch (...) {
    failure = std::current_exception();
  }
  try {
    co_await close();
  } catch (...) {
    if (!failure) failure = std::current_exception();
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace fluid
