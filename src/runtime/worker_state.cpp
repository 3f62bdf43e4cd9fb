#include "fluid/worker_state.hpp"

namespace fluid {

std::string_view to_string(WorkerState state) noexcept {
  switch (state) {
    case WorkerState::init: return "init";
    case WorkerState::running: return "running";
    case WorkerState::stopping: return "stopping";
    case WorkerState::stopped: return "stopped";
    case WorkerState::force_stopped: return "force_stopped";
  }
  return "unknown";
}

std::string_view to_string(StopReason reason) noexcept {
  switch (reason) {
    case StopReason::normal: return "normal";
    case StopReason::forced: return "forced";
    case StopReason::failed: return "failed";
  }
  return "unknown";
}

int exit_code(StopReason reason) noexcept {
  switch (reason) {
    case StopReason::normal: return 0;
    case StopReason::forced: return 1;
    case StopReason::failed: return 2;
  }
  return 2;
}

}  // namespace fluid
