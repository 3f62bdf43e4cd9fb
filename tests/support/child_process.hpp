#pragma once
// A program of the tests run as a process of its own, to kill and wait for.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fluid::test {

/// Starts `argv` (argv[0] a path) with its output appended to `output`; the
/// child gets SIGKILL should the test process die first. Killed (SIGKILL)
/// and reaped when destroyed, if still running.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, const std::string& output);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  /// Sends `signal` (a child already reaped is left alone).
  void signal(int signal) const;
  /// Waits (event-driven, on a pidfd) up to `timeout` for the child to exit:
  /// its exit code, 128 + the signal that killed it, or nullopt on timeout.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> status_;
};

}  // namespace fluid::test
