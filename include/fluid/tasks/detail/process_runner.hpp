#pragma once
/// @file
/// The seam through which process-mode runs reach a child process: the
/// program's entry point (task_cli()) installs a runner; without one, such
/// runs fail with CpuBoundEntryPointError's message. Also the child's command
/// line, as aio-fluid builds it (strip_serve, exec_args, cpu_bound_command).

#include "fluid/task.hpp"
#include "fluid/tasks/task_run.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

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

/// What a stopped child gets between SIGTERM and SIGKILL (aio-fluid's
/// TERMINATE_GRACE_PERIOD).
inline constexpr std::chrono::seconds terminate_grace_period{5};

/// The environment variable telling a child which descriptor is its control
/// channel (the socket its parent sends the run on and reads the outcome from).
inline constexpr const char* control_fd_variable = "FLUID_TASK_CONTROL_FD";

/// The program a child runs: the executable and the arguments that precede
/// the `exec` command (argv[0] first).
struct ProcessEntryPoint {
  std::string executable = "/proc/self/exe";
  std::vector<std::string> arguments;
};

/// aio-fluid's strip_serve: `command` without its first "serve" token and
/// everything after it; unchanged when it has none.
std::vector<std::string> strip_serve(std::vector<std::string> command);

/// aio-fluid's exec_args: `exec <task> --log --run-id <id> --params <json>`,
/// the params as given (a run held by a consumer has them in clear).
std::vector<std::string> exec_args(const TaskRun& run);

/// aio-fluid's cpu_bound_command: strip_serve(`arguments`) then exec_args(`run`).
std::vector<std::string> cpu_bound_command(std::vector<std::string> arguments, const TaskRun& run);

/// The runner task_cli() installs: each attempt is a child `entry_point`
/// with cpu_bound_command(entry_point.arguments, run), in a process group of
/// its own, killed if this process dies (PR_SET_PDEATHSIG, set from a thread
/// that lives as long as the process), its environment this process's plus
/// TASK_MANAGER_SPAWN=true plus the task's env. Its stdout and stderr are
/// logged line by line, prefixed with the run id; the run's record goes to
/// it over a socket pair, and its outcome comes back the same way. A stop
/// sends SIGTERM to its group, and SIGKILL after terminate_grace_period;
/// the attempt ends once the child is reaped.
ProcessRunner make_process_runner(ProcessEntryPoint entry_point);

}  // namespace fluid::detail
