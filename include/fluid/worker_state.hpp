#pragma once
/// @file
/// Where a worker is in its lifecycle, and why it stopped.

#include <string_view>

namespace fluid {

/// The lifecycle of a worker: init -> running -> stopping -> stopped | force_stopped.
enum class WorkerState {
  init,           ///< constructed, startup() not called yet
  running,        ///< startup() called; run() is (about to be) running
  stopping,       ///< asked to stop gracefully; run() should return soon
  stopped,        ///< run() returned or failed; on_shutdown() has run
  force_stopped,  ///< cancelled after its grace period expired
};

/// "init", "running", "stopping", "stopped" or "force_stopped".
std::string_view to_string(WorkerState state) noexcept;

/// Why a worker stopped; the int codes of aio-fluid's after_shutdown derive from it.
enum class StopReason {
  normal,  ///< run() returned: code 0, reason "normal shutdown"
  forced,  ///< cancelled after the grace period: code 1, reason "forced shutdown"
  failed,  ///< an exception escaped a hook or run(): code 2, reason = its message
};

/// "normal", "forced" or "failed".
std::string_view to_string(StopReason reason) noexcept;

/// aio-fluid's exit code for `reason`: 0 normal, 1 forced, 2 failed.
int exit_code(StopReason reason) noexcept;

}  // namespace fluid
