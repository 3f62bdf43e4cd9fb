#pragma once
// The child's half of process mode: `task_cli exec` inside a child started
// by a consumer reads the run from its control channel, runs the attempt
// with the parent's record (its counters, lineage and fencing token), and
// sends back how it ended (TASKS.md 2.13.3).

#include "fluid/task.hpp"
#include "fluid/tasks/task_manager.hpp"
#include "tasks/process/control_channel.hpp"

#include <optional>

namespace fluid::detail {

/// The control channel's descriptor when this process is a process-mode
/// child started by a consumer (TASK_MANAGER_SPAWN=true and
/// FLUID_TASK_CONTROL_FD set), else nullopt.
/// @throws FluidError for a malformed FLUID_TASK_CONTROL_FD.
std::optional<int> parent_channel();

/// Reads the record from `channel`, runs the attempt on the awaiting
/// executor (the manager open), and sends its outcome back; returns it. An
/// error before the attempt (no record, a task this child does not know) is
/// sent as a failure too.
Task<ChildOutcome> run_for_parent(TaskManager& manager, int channel);

}  // namespace fluid::detail
