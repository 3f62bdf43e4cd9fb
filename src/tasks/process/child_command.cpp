// The command line of a process-mode child, as aio-fluid builds it.

#include "fluid/tasks/detail/process_runner.hpp"

#include <algorithm>

namespace fluid::detail {

std::vector<std::string> strip_serve(std::vector<std::string> command) {
  command.erase(std::find(command.begin(), command.end(), "serve"), command.end());
  return command;
}

std::vector<std::string> exec_args(const TaskRun& run) {
  return {"exec", run.task, "--log", "--run-id", run.id, "--params", run.params.dump()};
}

std::vector<std::string> cpu_bound_command(std::vector<std::string> arguments, const TaskRun& run) {
  auto command = strip_serve(std::move(arguments));
  auto args = exec_args(run);
  command.insert(command.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return command;
}

}  // namespace fluid::detail
