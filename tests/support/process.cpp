#include "support/process.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace fluid::test {

namespace {

using namespace std::chrono_literals;

/// The variables fluid's programs read: a test sets them itself or not at all.
bool inherited(std::string_view name) {
  for (std::string_view own :
       {"DURATION", "DEMO_STUBBORN", "LOG_LEVEL", "STATUS_PORT", "STATUS_ADDRESS", "NOTIFY_SOCKET", "WATCHDOG_USEC",
        "WATCHDOG_PID", "JOURNAL_STREAM", "TASK_MANAGER_SPAWN"}) {
    if (name == own) return false;
  }
  return !name.starts_with("FLUID_");
}

std::vector<std::string> environment(const std::vector<std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (inherited(text.substr(0, text.find('=')))) env.emplace_back(text);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void make_pipe(int fds[2]) {
  if (::pipe(fds) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
}

}  // namespace

Process::Process(const std::string& path, std::vector<std::string> extra_env, std::vector<std::string> args,
                 bool merge_stderr) {
  auto env = environment(extra_env);
  auto envp = pointers(env);
  args.insert(args.begin(), path);
  auto argv = pointers(args);
  int out[2];
  int err[2] = {-1, -1};
  make_pipe(out);
  if (!merge_stderr) make_pipe(err);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, merge_stderr ? out[1] : err[1], STDERR_FILENO);
  for (const int fd : {out[0], out[1], err[0], err[1]}) {
    if (fd >= 0) posix_spawn_file_actions_addclose(&actions, fd);
  }
  const int error = ::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (err[1] >= 0) ::close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  if (error != 0) {
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + path + ": " + std::strerror(error));
  }
}

Process::~Process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

bool Process::wait_for_output(std::string_view text, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (output_.find(text) == std::string::npos && errors_.find(text) == std::string::npos) {
    if (!read_some(deadline)) return false;
  }
  return true;
}

void Process::send_signal(int number) { ASSERT_EQ(::kill(pid_, number), 0) << std::strerror(errno); }

std::optional<int> Process::wait_exit(Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (read_some(deadline)) {
  }
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return status;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(1ms);  // the pipes closed: the process is exiting
  }
}

bool Process::running() {
  int status = 0;
  return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
}

bool Process::read_some(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0 || (out_fd_ < 0 && err_fd_ < 0)) return false;
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) return false;
  for (int i = 0; i < 2; ++i) {
    if (fds[i].revents == 0) continue;
    int& fd = i == 0 ? out_fd_ : err_fd_;
    char buffer[4096];
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      ::close(fd);
      fd = -1;
      continue;
    }
    (i == 0 ? output_ : errors_).append(buffer, static_cast<std::size_t>(n));
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

ProcessResult run_process(const std::string& path, std::vector<std::string> args, std::vector<std::string> extra_env,
                          Process::Clock::duration timeout) {
  Process process(path, std::move(extra_env), std::move(args), false);
  const auto status = process.wait_exit(timeout);
  ProcessResult result{-1, process.output(), process.errors()};
  if (status && WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  return result;
}

}  // namespace fluid::test
