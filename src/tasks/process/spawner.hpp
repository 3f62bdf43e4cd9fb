#pragma once
// Starting a process-mode child: fork and exec from one thread that lives as
// long as the process, because PR_SET_PDEATHSIG fires when the *thread* that
// forked exits, not the process (TASKS.md 2.13.2).

#include "tasks/process/unique_fd.hpp"

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace fluid::detail {

/// The descriptor a child finds its control channel on.
inline constexpr int control_child_fd = 3;

struct SpawnRequest {
  std::string executable;
  std::vector<std::string> arguments;    // argv, argv[0] first
  std::vector<std::string> environment;  // "NAME=value", the whole of it
};

/// A started child, seen from its parent; every descriptor close-on-exec here.
struct SpawnedChild {
  pid_t pid = -1;
  UniqueFd pidfd;      // readable once the child has exited (it is reaped with waitpid)
  UniqueFd output;     // the read end of its stdout
  UniqueFd errors;     // the read end of its stderr
  UniqueFd control;    // this end of its control channel, a stream socket
  std::string error;   // why it could not start; everything above empty then
};

/// Starts `request` on the spawner thread and calls `done` there once its
/// exec has succeeded or failed. The child has a process group of its own
/// (pgid = pid), dies with SIGKILL when this process does, has /dev/null as
/// stdin, pipes as stdout and stderr, the other end of its control channel
/// on control_child_fd, no other descriptor of this process, default signal
/// dispositions and an empty signal mask.
void spawn(SpawnRequest request, std::function<void(SpawnedChild)> done);

}  // namespace fluid::detail
