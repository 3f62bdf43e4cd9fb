#pragma once
// The commands of task_cli (TASKS.md 2.16.4), each given the manager made
// for it and the options parsed; they print to std::cout and return the exit
// code, or throw for task_cli() to report.

#include "fluid/errors.hpp"
#include "fluid/tasks/task_manager.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fluid::detail {

/// Everything the command line says, whichever the command.
struct CliOptions {
  std::string task;
  std::string run_id;
  std::string params;               // JSON text, "" when not given
  std::vector<std::string> fields;  // exec's field options, as given
  std::vector<std::string> tags;
  std::string priority;
  std::string delay;  // decimal seconds, "" when not given
  std::string reason;
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  bool log = false;
  bool disable = false;
};

/// A usage error found once the command line is parsed: exit 2.
struct CliUsageError : FluidError {
  using FluidError::FluidError;
};

int ls_command(TaskManager& manager, const CliOptions& options);
int exec_command(TaskManager& manager, const CliOptions& options);
int serve_command(std::shared_ptr<TaskManager> manager, const CliOptions& options);
int enable_command(TaskManager& manager, const CliOptions& options);
int queue_command(TaskManager& manager, const CliOptions& options);
int abort_command(TaskManager& manager, const CliOptions& options);
int show_command(TaskManager& manager, const CliOptions& options);

}  // namespace fluid::detail
