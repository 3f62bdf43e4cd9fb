#pragma once
// What task_cli prints: the table of `ls` and the run of `exec` and `abort`.

#include "fluid/tasks/task_run.hpp"

#include <string>
#include <vector>

namespace fluid::detail {

/// One row per task, in the order given: name, enabled, schedule, cpu bound,
/// timeout secs, priority, tags, short description; columns aligned.
std::string tasks_table(const std::vector<TaskInfo>& tasks);

/// The run, one field a line: name, description, run_id, state, started,
/// completed, duration ms, and error when it has one.
std::string run_table(const TaskRun& run, const std::string& description);

}  // namespace fluid::detail
