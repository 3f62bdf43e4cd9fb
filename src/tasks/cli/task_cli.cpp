// task_cli(): the command line on CLI11, its exit codes and error lines
// (TASKS.md 2.16.4), and the process runner it installs for process mode.

#include "fluid/tasks/task_cli.hpp"

#include "fluid/config.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/tasks/detail/process_runner.hpp"
#include "fluid/tasks/errors.hpp"
#include "tasks/cli/commands.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>

namespace fluid {

namespace {

using detail::CliOptions;

/// The manager of the command, made on first use (a command, or exec's help).
class LazyManager {
 public:
  explicit LazyManager(std::function<std::shared_ptr<TaskManager>()> make) : make_(std::move(make)) {}
  const std::shared_ptr<TaskManager>& get() {
    if (manager_) return manager_;
    try {
      manager_ = make_();
    } catch (const FluidError& e) {
      throw detail::CliUsageError(e.what());  // bad configuration or environment
    }
    if (!manager_) throw FluidError("task_cli: make_manager returned no manager");
    return manager_;
  }

 private:
  std::function<std::shared_ptr<TaskManager>()> make_;
  std::shared_ptr<TaskManager> manager_;
};

/// exec's help lists the tasks it can run (aio-fluid).
std::string tasks_footer(LazyManager& manager) {
  try {
    std::string names;
    for (const auto& [name, task] : manager.get()->registry()) names += "\n  " + name + "  " + task.short_description();
    return "Tasks:" + names;
  } catch (const std::exception& e) {
    return std::string("Tasks: cannot be listed: ") + e.what();
  }
}

struct Commands {
  CLI::App* ls;
  CLI::App* exec;
  CLI::App* serve;
  CLI::App* enable;
  CLI::App* queue;
  CLI::App* abort;
  CLI::App* show;
};

void add_query_commands(CLI::App& app, CliOptions& o, Commands& c) {
  c.ls = app.add_subcommand("ls", "List the registered tasks");
  c.ls->add_option("--tags,-t", o.tags, "Only tasks with at least one of these tags (repeatable)");
  c.enable = app.add_subcommand("enable", "Enable a task, or disable it (prints nothing)");
  c.enable->add_option("task", o.task, "The task")->required();
  c.enable->add_flag("--disable", o.disable, "Disable it instead");
  c.abort = app.add_subcommand("abort", "Abort a run and print it");
  c.abort->add_option("run_id", o.run_id, "The run")->required();
  c.abort->add_option("--reason", o.reason, "Why (the run's error)");
  c.show = app.add_subcommand("show", "Print a run's JSON");
  c.show->add_option("run_id", o.run_id, "The run")->required();
}

void add_run_commands(CLI::App& app, CliOptions& o, Commands& c, LazyManager& manager) {
  c.exec = app.add_subcommand("exec", "Execute a task here and now, and print the run");
  c.exec->add_option("task", o.task, "The task")->required();
  c.exec->add_flag("--log", o.log, "Log what happens (to stderr)");
  c.exec->add_option("--run-id", o.run_id, "The run's id (1 to 64 of A-Z a-z 0-9 _ -)");
  c.exec->add_option("--params", o.params, "Params as a JSON object; its keys win over the field options");
  c.exec->allow_extras();  // the field options: --FIELD VALUE, --FIELD=VALUE, --FIELD
  c.exec->footer([&manager] { return tasks_footer(manager); });
  c.queue = app.add_subcommand("queue", "Queue a run and print its id");
  c.queue->add_option("task", o.task, "The task")->required();
  c.queue->add_option("--params", o.params, "Params as a JSON object");
  c.queue->add_option("--priority", o.priority, "high, medium or low (default: the task's)")
      ->check(CLI::IsMember({"high", "medium", "low"}));
  c.queue->add_option("--run-id", o.run_id, "The run's id; a run id already known is not queued twice");
  c.queue->add_option("--delay", o.delay, "Seconds before the run may start");
  c.serve = app.add_subcommand("serve", "Serve the manager (consume, schedule) with its status routes");
  c.serve->add_option("--host,-h", o.host, "The address to bind")->capture_default_str();
  c.serve->add_option("--port,-p", o.port, "The port to bind (0: any free port)")->capture_default_str();
}

int report(std::string_view message, int code) {
  std::cerr << "Error: " << message << std::endl;
  return code;
}

/// The exit code and error line of what a command threw.
int report_failure(const CliOptions& options) {
  try {
    throw;
  } catch (const UnknownTaskError&) {
    return report("Task " + options.task + " not found", 1);
  } catch (const UnknownRunError&) {
    return report("Run " + options.run_id + " not found", 1);
  } catch (const TaskParamsError& e) {
    return report(e.what(), 2);
  } catch (const detail::CliUsageError& e) {
    return report(e.what(), 2);
  } catch (const std::exception& e) {
    return report(e.what(), 1);  // the run failed, the broker cannot be reached, ...
  } catch (...) {
    return report("unknown exception", 1);
  }
}

/// Commands other than serve log warnings only, exec --log what happens,
/// unless LOG_LEVEL says otherwise; restored when task_cli() returns.
class LogLevel {
 public:
  LogLevel(bool serving, bool verbose) : saved_(logger()->level()) {
    if (!serving && !env("LOG_LEVEL")) logger()->set_level(verbose ? spdlog::level::info : spdlog::level::warn);
  }
  ~LogLevel() { logger()->set_level(saved_); }
  LogLevel(const LogLevel&) = delete;
  LogLevel& operator=(const LogLevel&) = delete;

 private:
  spdlog::level::level_enum saved_;
};

/// The process runner of this command line while task_cli() runs: a child is
/// this program with the arguments before the command (strip_serve's, so
/// that `exec` of a process-mode task works from the command line too).
class ProcessRunnerScope {
 public:
  ProcessRunnerScope(const std::vector<std::string>& args, std::size_t command_index)
      : saved_(detail::process_runner()) {
    auto prefix = detail::strip_serve(args);
    prefix.resize(std::min(prefix.size(), command_index));
    detail::set_process_runner(detail::make_process_runner({.arguments = std::move(prefix)}));
  }
  ~ProcessRunnerScope() { detail::set_process_runner(std::move(saved_)); }
  ProcessRunnerScope(const ProcessRunnerScope&) = delete;
  ProcessRunnerScope& operator=(const ProcessRunnerScope&) = delete;

 private:
  detail::ProcessRunner saved_;
};

/// CLI11 would only say that a command is required.
std::string unknown_command(const std::string& given) {
  return "unknown command '" + given + "' (commands: ls, exec, serve, enable, queue, abort, show)";
}

int run_command(const Commands& c, const CliOptions& o, LazyManager& manager) {
  if (c.ls->parsed()) return detail::ls_command(*manager.get(), o);
  if (c.exec->parsed()) return detail::exec_command(*manager.get(), o);
  if (c.serve->parsed()) return detail::serve_command(manager.get(), o);
  if (c.enable->parsed()) return detail::enable_command(*manager.get(), o);
  if (c.queue->parsed()) return detail::queue_command(*manager.get(), o);
  if (c.abort->parsed()) return detail::abort_command(*manager.get(), o);
  return detail::show_command(*manager.get(), o);
}

}  // namespace

int task_cli(int argc, char** argv, std::function<std::shared_ptr<TaskManager>()> make_manager) {
  if (argc < 1) return report("task_cli: no arguments, not even the program's name", 2);
  const std::vector<std::string> args(argv, argv + argc);
  CliOptions options;
  LazyManager manager(std::move(make_manager));
  CLI::App app("The tasks of this program: list, execute, serve, queue and follow them",
               args.empty() ? "task_cli" : args.front());
  app.set_help_flag("--help", "Print this help and exit");  // -h is serve's host
  app.require_subcommand(1);
  Commands commands{};
  add_query_commands(app, options, commands);
  add_run_commands(app, options, commands, manager);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, std::cout, std::cerr);  // --help
    const auto extras = app.remaining();
    if (app.get_subcommands().empty() && !extras.empty()) return report(unknown_command(extras.front()), 2);
    return report(e.what(), 2);
  }
  options.fields = commands.exec->remaining();
  const auto* command = app.get_subcommands().front();
  const auto command_at = std::find(args.begin() + 1, args.end(), command->get_name()) - args.begin();
  const ProcessRunnerScope runner(args, static_cast<std::size_t>(command_at));
  const LogLevel level(commands.serve->parsed(), options.log);
  try {
    return run_command(commands, options, manager);
  } catch (...) {
    return report_failure(options);
  }
}

}  // namespace fluid
