#pragma once
// A program of this build run as a real process by a test: started with
// arguments and environment of the test's choosing, its output read as it
// comes, signalled, and judged by its exit status.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fluid::test {

/// A child process whose stdout and stderr go to pipes the test reads (one
/// pipe for both unless told otherwise). Killed and reaped when destroyed.
class Process {
 public:
  using Clock = std::chrono::steady_clock;

  /// Starts `path` with `args` and this process's environment minus the
  /// variables fluid's programs read (FLUID_*, LOG_LEVEL, TASK_MANAGER_SPAWN,
  /// STATUS_*, systemd's...), plus `extra_env` ("NAME=value"). With
  /// `merge_stderr` false, stderr is read apart (errors()).
  /// @throws std::runtime_error if it cannot be started.
  Process(const std::string& path, std::vector<std::string> extra_env, std::vector<std::string> args = {},
          bool merge_stderr = true);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  /// Reads output until `text` appears in output() or errors(); false if it
  /// did not within `timeout`.
  bool wait_for_output(std::string_view text, Clock::duration timeout);
  void send_signal(int number);
  /// Reads the output to its end, then reaps the process; its wait status,
  /// or nullopt if it did not exit within `timeout`.
  std::optional<int> wait_exit(Clock::duration timeout);
  /// Whether it has not exited (reaps it if it has).
  bool running();

  pid_t pid() const noexcept { return pid_; }
  /// Its stdout (and stderr, merged) so far.
  const std::string& output() const noexcept { return output_; }
  /// Its stderr so far, when not merged.
  const std::string& errors() const noexcept { return errors_; }

 private:
  bool read_some(Clock::time_point deadline);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string output_;
  std::string errors_;
};

/// How a program run to its end went.
struct ProcessResult {
  int exit_code = -1;  ///< -1: killed by a signal, or still running at the timeout
  std::string out;     ///< its stdout
  std::string err;     ///< its stderr
};

/// Runs `path` with `args` (environment as Process's) until it exits, for at
/// most `timeout`.
ProcessResult run_process(const std::string& path, std::vector<std::string> args,
                          std::vector<std::string> extra_env = {},
                          Process::Clock::duration timeout = std::chrono::seconds(60));

}  // namespace fluid::test
