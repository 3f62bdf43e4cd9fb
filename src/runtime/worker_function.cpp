#include "fluid/worker_function.hpp"

#include "fluid/errors.hpp"

#include <string>

namespace fluid {

namespace {

std::string label(const WorkerOptions& options) {
  return options.name.empty() ? std::string("WorkerFunction") : "worker " + options.name;
}

}  // namespace

WorkerFunction::WorkerFunction(std::function<Task<>()> fn, std::chrono::milliseconds heartbeat, WorkerOptions options)
    : Worker(options), fn_(std::move(fn)), heartbeat_(heartbeat) {
  if (!fn_) throw FluidError(label(options) + ": the function to run is empty");
  if (heartbeat_.count() < 0) {
    throw FluidError(label(options) + ": heartbeat must not be negative, got " + std::to_string(heartbeat_.count()) +
                     "ms");
  }
}

Task<> WorkerFunction::run() {
  while (is_running()) {
    co_await fn_();
    if (heartbeat_.count() == 0) {
      co_await sleep(heartbeat_);
    } else {
      co_await sleep_while_running(heartbeat_);
    }
  }
}

}  // namespace fluid
