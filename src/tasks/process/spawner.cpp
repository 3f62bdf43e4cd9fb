#include "tasks/process/spawner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace fluid::detail {

namespace {

std::string errno_text(const std::string& what, int error = errno) {
  return what + ": " + std::system_category().message(error);
}

/// `fd` moved to 10 or above (close-on-exec), so that the child's dup2()
/// onto descriptors 0 to 3 never overwrites another source.
UniqueFd lifted(int fd) {
  UniqueFd original(fd);
  if (fd >= 10) return original;
  return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 10));
}

/// The descriptors a child is given, created close-on-exec in the parent.
struct ChildEnds {
  UniqueFd input, output, errors, control, status;  // the child's
  UniqueFd output_reader, errors_reader, control_peer, status_reader;  // the parent's
};

/// Makes a pipe or a socket pair; false (errno set) if it cannot.
bool make_pair(bool socket, UniqueFd& first, UniqueFd& second) {
  int fds[2];
  const int made = socket ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) : ::pipe2(fds, O_CLOEXEC);
  if (made != 0) return false;
  first = lifted(fds[0]);
  second = lifted(fds[1]);
  return first && second;
}

std::string make_ends(ChildEnds& ends) {
  ends.input = lifted(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!ends.input) return errno_text("open /dev/null");
  if (!make_pair(false, ends.output_reader, ends.output)) return errno_text("pipe");
  if (!make_pair(false, ends.errors_reader, ends.errors)) return errno_text("pipe");
  if (!make_pair(true, ends.control_peer, ends.control)) return errno_text("socketpair");
  if (!make_pair(false, ends.status_reader, ends.status)) return errno_text("pipe");
  return {};
}

/// What the child runs between fork() and execve(): async-signal-safe calls
/// only, since the parent has other threads. Reports a failed exec's errno
/// on the status pipe.
[[noreturn]] void exec_child(const ChildEnds& ends, pid_t parent, const char* path, char* const argv[],
                             char* const envp[]) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl() took effect
  ::setpgid(0, 0);
  ::dup2(ends.input.get(), STDIN_FILENO);
  ::dup2(ends.output.get(), STDOUT_FILENO);
  ::dup2(ends.errors.get(), STDERR_FILENO);
  ::dup2(ends.control.get(), control_child_fd);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (const int number : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
    ::signal(number, SIG_DFL);
  }
  // Descriptors this process opened without close-on-exec stay out of the child.
  ::syscall(SYS_close_range, control_child_fd + 1, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(path, argv, envp);
  const int error = errno;
  (void)!::write(ends.status.get(), &error, sizeof error);
  ::_exit(127);
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// The errno of a failed exec, 0 once the exec succeeded (the pipe closed).
int exec_error(const UniqueFd& status_reader) {
  int error = 0;
  for (;;) {
    const auto n = ::read(status_reader.get(), &error, sizeof error);
    if (n < 0 && errno == EINTR) continue;
    return n == static_cast<ssize_t>(sizeof error) ? error : 0;
  }
}

void reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

SpawnedChild start(SpawnRequest& request) {
  SpawnedChild child;
  ChildEnds ends;
  child.error = make_ends(ends);
  if (!child.error.empty()) return child;
  auto argv = pointers(request.arguments);
  auto envp = pointers(request.environment);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return {.error = errno_text("fork")};
  if (pid == 0) exec_child(ends, parent, request.executable.c_str(), argv.data(), envp.data());
  ends.input.reset();
  ends.output.reset();
  ends.errors.reset();
  ends.control.reset();
  ends.status.reset();
  if (const int error = exec_error(ends.status_reader); error != 0) {
    reap(pid);
    return {.error = errno_text("execve " + request.executable, error)};
  }
  child.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!child.pidfd) {
    child.error = errno_text("pidfd_open (Linux 5.3 or later is needed)");
    ::kill(pid, SIGKILL);
    reap(pid);
    return child;
  }
  child.pid = pid;
  child.output = std::move(ends.output_reader);
  child.errors = std::move(ends.errors_reader);
  child.control = std::move(ends.control_peer);
  return child;
}

/// The thread every child is forked from; it waits for requests on a
/// condition variable and never exits, so no child outlives it by accident.
class Spawner {
 public:
  static Spawner& instance() {
    // Never destroyed: its thread must outlive every child, up to the process's exit.
    static Spawner* const spawner = new Spawner;
    return *spawner;
  }

  void submit(SpawnRequest request, std::function<void(SpawnedChild)> done) {
    {
      std::lock_guard lock(mutex_);
      jobs_.emplace_back(std::move(request), std::move(done));
    }
    wake_.notify_one();
  }

 private:
  Spawner() : thread_([this] { loop(); }) { thread_.detach(); }

  void loop() {
    for (;;) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return !jobs_.empty(); });
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      try {
        job.second(start(job.first));
      } catch (...) {
        // `done` hands the child over to its follower; nothing here can report a throw.
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<SpawnRequest, std::function<void(SpawnedChild)>>> jobs_;
  std::thread thread_;
};

}  // namespace

void spawn(SpawnRequest request, std::function<void(SpawnedChild)> done) {
  Spawner::instance().submit(std::move(request), std::move(done));
}

}  // namespace fluid::detail
