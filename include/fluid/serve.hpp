#pragma once
/// @file
/// serve(): run a worker tree as a service process, stopping on SIGINT/SIGTERM.

#include "fluid/worker.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fluid {

/// How serve() runs the root worker. Every field left unset may come from the
/// environment (FLUID_SERVE_THREADS, FLUID_SERVE_STARTUP_TIMEOUT and
/// FLUID_SERVE_SHUTDOWN_TIMEOUT, the last two in decimal seconds); an explicit
/// field wins over the environment.
struct ServeOptions {
  /// Threads running the event loop (default 1). Each worker's own coroutine
  /// stays serialized on a strand, so a worker written for one thread is
  /// correct on several.
  std::optional<std::size_t> threads;
  /// How long the root may take to be ready; then it is stopped and serve()
  /// returns 2. Default: no limit.
  std::optional<std::chrono::milliseconds> startup_timeout;
  /// How long after the first signal the root may take to stop before it is
  /// forced, as if a second signal came. Default: no limit beyond the
  /// workers' own grace periods.
  std::optional<std::chrono::milliseconds> shutdown_timeout;
  /// Stop on SIGINT and SIGTERM (first: graceful, second: forced). A repeat
  /// within 100 ms of the first is taken as the same request (timeout(1) and
  /// some supervisors signal both the process and its group). Also SIGHUP
  /// (see `reload`) and SIGQUIT (logs the status of the tree, keeps running).
  bool handle_signals = true;
  /// Runs on SIGHUP, on serve()'s own strand, while the service keeps
  /// running: reread configuration, reopen files. What it throws is logged
  /// and ignored. Empty: SIGHUP is logged and ignored (never the default
  /// action, which would end the process without a report).
  std::function<Task<>()> reload;
  /// The application's version, for --version of the command-line serve().
  std::string version;
  /// One line saying what the service does, atop --help.
  std::string description;
};

/// Exit codes of serve(): a process's status after running its root worker.
enum ExitCode : int {
  exit_clean = 0,   ///< every worker stopped cleanly
  exit_forced = 1,  ///< some worker had to be forced
  exit_failed = 2,  ///< some worker failed, startup failed, an exception escaped a handler, or bad configuration
};

/// One line of the shutdown report: a worker that did not stop cleanly.
struct WorkerOutcome {
  std::string path;    ///< "root/child/grandchild"
  StopReason reason;   ///< forced or failed
  std::string detail;  ///< the error message, or the grace period that expired
};

/// What made serve() force the root, when it was not the workers' own grace periods.
struct ForceCause {
  enum class Kind {
    second_signal,      ///< a SIGINT/SIGTERM after the one that asked for a graceful stop
    shutdown_timeout,   ///< ServeOptions::shutdown_timeout passed since the first signal
    startup_timeout,    ///< ServeOptions::startup_timeout passed before the root was ready
    escaped_exception,  ///< an exception escaped a handler of the event loop
  };
  Kind kind;
  int signal = 0;                        ///< second_signal: the signal's number
  std::chrono::milliseconds timeout{0};  ///< shutdown_timeout, startup_timeout: the timeout in force
};

/// "forced by a second SIGINT", "forced after the shutdown timeout of 50ms",
/// "forced after the startup timeout of 50ms", "forced after an exception
/// escaped a handler".
std::string to_string(const ForceCause& cause);

/// The workers of the tree under `root` that were forced or failed, leaves
/// and groups alike, depth first. `forced_by` is what forced the stop when it
/// was not the workers' grace periods; a forced line then names it.
std::vector<WorkerOutcome> shutdown_report(Worker& root, std::optional<ForceCause> forced_by = std::nullopt);

/// Runs `root` (a group, usually) on a fresh event loop until it stops, and
/// returns the process exit code (see ExitCode). The first SIGINT/SIGTERM
/// starts a graceful shutdown of the root, a second one forces it. At exit it
/// logs a report naming every worker that was forced or failed, and why.
/// An exception escaping a handler of the loop (on any thread) is logged, the
/// root is forced (its on_shutdown() hooks still run) and serve() returns
/// exit_failed once the tree has stopped.
/// Never throws: bad configuration is logged and returns exit_failed.
int serve(Worker& root, ServeOptions options = {});

/// serve() behind a command line (CLI11): --help, --version, and flags for
/// what the environment configures, each named in --help with its variable:
///   --threads N              FLUID_SERVE_THREADS
///   --grace-period SECONDS   FLUID_STOPPING_GRACE_PERIOD (every worker without its own)
///   --startup-timeout SECONDS, --shutdown-timeout SECONDS
///                            FLUID_SERVE_STARTUP_TIMEOUT, FLUID_SERVE_SHUTDOWN_TIMEOUT
///   --status-address IP, --status-port PORT
///                            STATUS_ADDRESS, STATUS_PORT (every StatusServer without its own)
///   --log-level LEVEL, --log-format text|json
///                            LOG_LEVEL, FLUID_LOG_FORMAT
/// A flag given wins over the field of `options` and over the variable (it
/// sets the variable for the process, so what reads it at startup sees the
/// flag). --help and --version print to stdout and return 0; an unknown
/// option or a bad value prints an error naming it to stderr and returns 2;
/// nothing starts in either case.
int serve(int argc, char** argv, Worker& root, ServeOptions options = {});

}  // namespace fluid
