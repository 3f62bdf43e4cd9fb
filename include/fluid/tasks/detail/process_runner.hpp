#pragma once
/// @file
/// The seam through which process-mode runs reach a child process: the
/// program's entry point (task_cli()) installs a runner; without one, such
/// runs fail with CpuBoundEntryPointError's message.

#include "fluid/task.hpp"

#include <functional>

namespace fluid {
class TaskContext;
}

namespace fluid::detail {

/// Runs one attempt of a process-mode task in a child process, awaited where
/// the executor would be. A terminal cancellation (timeout, abort, lease
/// lost, shutdown) must stop the child; it throws TaskProcessError (the
/// child's failure) or TaskAbortedError (its abort) as the child reports.
using ProcessRunner = std::function<Task<>(TaskContext& ctx)>;

/// Installs `runner` for every manager of the process (an empty one removes
/// it). Call before any manager opens.
void set_process_runner(ProcessRunner runner);

/// The runner installed, empty if none.
ProcessRunner process_runner();

}  // namespace fluid::detail
