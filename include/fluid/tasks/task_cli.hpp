#pragma once
/// @file
/// task_cli(): the command line of a program that owns task queues.

#include "fluid/tasks/task_manager.hpp"

#include <functional>
#include <memory>

namespace fluid {

/// The entry point of a program whose tasks are listed, executed, served,
/// queued and followed from the command line, as aio-fluid's TaskManagerCLI:
///
///   ls [--tags/-t TAG]...           the registered tasks (tags: any of them)
///   exec <task> [--log] [--run-id ID] [--params JSON] [--FIELD VALUE]...
///                                   execute() here and print the run
///   serve [--host/-h ADDR] [--port/-p PORT]
///                                   serve() the manager (a consumer) with the
///                                   status routes on ADDR:PORT (0.0.0.0:8080;
///                                   port 0 picks a free one, logged)
///   enable <task> [--disable]       set the task's enabled flag
///   queue <task> [--params JSON] [--priority P] [--run-id ID] [--delay S]
///                                   queue a run and print its id
///   abort <run_id> [--reason TEXT]  abort a run and print it
///   show <run_id>                   print the run's JSON
///
/// Field options of exec: `--fail-times 3` and `--fail_times=3` set param
/// "fail_times", a value is JSON when it parses as JSON and a string
/// otherwise, a bare `--abort` is true; keys in --params win. Help is
/// `--help` only (`-h` is serve's host). Exit codes: 0 done (exec: success or
/// aborted); 1 the run failed, an unknown task ("Error: Task x not found") or
/// run, or a broker that cannot be reached; 2 a usage error, rejected
/// params or bad configuration ("Error: <message>"); serve: serve()'s.
///
/// `make_manager` is called once per command (not for --help). Process-mode
/// tasks need main() to be this: it installs the runner that re-executes the
/// program as `exec <task> ...` in a child process for each of their runs,
/// and is that child's entry point too.
///
/// @warning Call it from main(), once at a time: it installs the process
/// runner and sets the "fluid" logger's level while it runs.
int task_cli(int argc, char** argv, std::function<std::shared_ptr<TaskManager>()> make_manager);

}  // namespace fluid
