#pragma once
// The scheduler's child: fires the slots of its manager's scheduled tasks
// through the broker, exactly once per slot whatever the number of
// schedulers.

#include "fluid/tasks/task_manager.hpp"
#include "fluid/worker.hpp"
#include "tasks/manager_core.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace fluid::detail {

class ScheduleWorker : public Worker {
 public:
  ScheduleWorker(TaskManager& manager, std::shared_ptr<ManagerCore> core, WorkerOptions options);

 protected:
  Task<> run() override;

 private:
  struct Plan {
    const TaskDefinition* task;
    TimePoint anchor;
    TimePoint next;  // its next slot
  };
  bool can_schedule(const TaskDefinition& task) const;
  Task<> anchor_all();
  Task<> fire_due(Plan& plan, TimePoint now);
  TaskRun scheduled_run(const TaskDefinition& task, TimePoint slot) const;

  TaskManager& manager_;
  std::shared_ptr<ManagerCore> core_;
  std::map<std::string, Plan> plans_;
};

}  // namespace fluid::detail
