// tasks_cli: the example tasks behind fluid::task_cli, aio-fluid's example
// CLI. main() is task_cli(), which lists, executes, queues, aborts and shows
// runs, serves a scheduler of these tasks, and is the entry point of the child
// process a process-mode task (cpu_bound, cpu_bound_env, ...) runs in.
//
//   $ ./tasks_cli ls --tags test
//   $ ./tasks_cli exec add --a 3 --b 4 --log
//   $ ./tasks_cli exec cpu_bound --sleep 0.5 --log     # in a child process
//   $ ./tasks_cli serve --port 0                        # Ctrl-C stops it
//
// The broker is FLUID_BROKER_URL's (memory://, private to each command,
// unless a redis:// URL is given).

#include "tasks.hpp"

int main(int argc, char** argv) {
  return fluid::task_cli(argc, argv, [] { return fluid::examples::task_scheduler(); });
}
