#pragma once
/// @file
/// TaskScheduler: a TaskConsumer that also fires its tasks' schedules.

#include "fluid/tasks/task_consumer.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "fluid/worker.hpp"

#include <string>

namespace fluid {

/// Fires the schedules of its registered tasks (when schedule_tasks is
/// true) and consumes runs like a TaskConsumer (when consume_tasks is true).
///
/// Any number of schedulers may share a broker: the broker fires each slot
/// of each enabled task exactly once, for whichever scheduler's clock passes
/// it first, and remembers the last slot, so restarts neither repeat nor
/// lose one. A scheduler sleeps until the next slot of any task (no
/// polling) and queues it within milliseconds, with execute_after = slot +
/// randomize() + a draw in [0, jitter). Slots before the task's anchor (the
/// first time any scheduler saw it on the broker) never fire; after every
/// scheduler was down across several slots, the most recent missed one
/// fires once and the older ones are counted in a warning. A disabled
/// task's slots are skipped (not caught up when it is enabled again).
class TaskScheduler : public TaskConsumer {
 public:
  /// As TaskConsumer; the schedules are fired by a child named "schedule_tasks".
  /// @throws FluidError for bad configuration (see TaskManager).
  explicit TaskScheduler(TaskManagerConfig config = {}, WorkerOptions worker = {});
  ~TaskScheduler() override;

  /// "task_scheduler".
  std::string type() const override;
};

}  // namespace fluid
