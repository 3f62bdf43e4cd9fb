#include "fluid/tasks/task_scheduler.hpp"

#include "tasks/manager_core.hpp"
#include "tasks/schedule_worker.hpp"

namespace fluid {

TaskScheduler::TaskScheduler(TaskManagerConfig config, WorkerOptions worker) : TaskConsumer(std::move(config), worker) {
  core()->type = "task_scheduler";
  auto grace = worker.stopping_grace_period;
  add_workers(std::make_shared<detail::ScheduleWorker>(
      *this, core(), WorkerOptions{.name = "schedule_tasks", .stopping_grace_period = grace}));
}

TaskScheduler::~TaskScheduler() = default;

std::string TaskScheduler::type() const { return "task_scheduler"; }

}  // namespace fluid
