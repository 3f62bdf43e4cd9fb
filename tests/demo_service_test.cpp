// demo_service as a real process: started, sent signals, and judged by its
// exit code, how long it took to exit and what it logged.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// A child process whose stdout and stderr both go to one pipe we read.
class Process {
 public:
  /// Starts `path` with this process's environment minus the variables the
  /// demo reads, plus `extra_env` ("NAME=value").
  Process(const std::string& path, std::vector<std::string> extra_env) {
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      if (!inherited(text.substr(0, text.find('=')))) continue;
      env.emplace_back(text);
    }
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& entry : env) envp.push_back(entry.data());
    envp.push_back(nullptr);

    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::string program = path;
    char* argv[] = {program.data(), nullptr};
    const int error = ::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    fd_ = fds[0];
    if (error != 0) throw std::runtime_error("posix_spawn " + path + ": " + std::strerror(error));
  }

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// A process still running when the test ends is killed, never leaked.
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(fd_);
  }

  /// Reads output until `text` appears; false if it did not within `timeout`.
  bool wait_for_output(std::string_view text, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (output_.find(text) == std::string::npos) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }

  void send_signal(int number) { ASSERT_EQ(::kill(pid_, number), 0) << std::strerror(errno); }

  /// Reads the output to its end, then reaps the process; its wait status, or
  /// nullopt if it did not exit within `timeout`.
  std::optional<int> wait_exit(Clock::duration timeout) {
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
      std::this_thread::sleep_for(1ms);  // the pipe closed: the process is exiting
    }
  }

  const std::string& output() const { return output_; }

 private:
  static bool inherited(std::string_view name) {
    for (std::string_view own : {"DURATION", "DEMO_STUBBORN", "LOG_LEVEL", "STATUS_PORT"}) {
      if (name == own) return false;
    }
    return !name.starts_with("FLUID_");
  }

  // Appends what is available before `deadline`; false at end of output or timeout.
  bool read_some(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd poll_fd{fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const auto n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) return false;
    output_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
};

std::string demo_path() {
#ifdef DEMO_SERVICE_BIN
  return DEMO_SERVICE_BIN;
#else
  return {};
#endif
}

// The demo's status endpoint on a free port: tests run in parallel, and the
// default port may be taken.
constexpr const char* any_port = "STATUS_PORT=0";

// Generous: a Debug or sanitizer build on a busy machine starts slowly.
constexpr auto startup_limit = 30s;
// Stopping takes milliseconds; a few seconds is the failure limit.
constexpr auto exit_limit = 3s;

struct Exit {
  std::optional<int> status;
  std::chrono::milliseconds took;
};

/// Sends `number` and measures until the process has exited.
Exit signal_and_wait(Process& demo, int number, const char* label) {
  const auto sent = Clock::now();
  demo.send_signal(number);
  Exit out{demo.wait_exit(exit_limit + 5s), {}};
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent);
  std::cout << "[ measured ] " << label << " to exit: " << out.took.count() << " ms" << std::endl;
  return out;
}

class DemoService : public ::testing::Test {
 protected:
  void SetUp() override {
    if (demo_path().empty()) GTEST_SKIP() << "built without examples (FLUID_BUILD_EXAMPLES=OFF)";
  }
};

TEST_F(DemoService, SigtermStopsItCleanlyWithExitCodeZeroWithinASecond) {
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port});
  ASSERT_TRUE(demo.wait_for_output("demo_service started running", startup_limit)) << demo.output();
  std::this_thread::sleep_for(300ms);  // events flowing: the stop has work in flight to finish

  const auto exit = signal_and_wait(demo, SIGTERM, "SIGTERM");
  RecordProperty("sigterm_to_exit_ms", std::to_string(exit.took.count()));

  ASSERT_TRUE(exit.status) << "still running " << exit.took.count() << " ms after SIGTERM\n" << demo.output();
  ASSERT_TRUE(WIFEXITED(*exit.status)) << demo.output();
  EXPECT_EQ(WEXITSTATUS(*exit.status), 0) << demo.output();
  EXPECT_LT(exit.took, exit_limit);
  EXPECT_NE(demo.output().find("received SIGTERM"), std::string::npos) << demo.output();
  EXPECT_NE(demo.output().find("demo_service stopped running: normal shutdown"), std::string::npos) << demo.output();
  EXPECT_NE(demo.output().find("shutdown report: every worker stopped cleanly"), std::string::npos) << demo.output();
}

TEST_F(DemoService, ASecondSigintForcesAWorkerThatIgnoresStopAndExitsWithCodeOne) {
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port, "DEMO_STUBBORN=1"});
  ASSERT_TRUE(demo.wait_for_output("demo_service started running", startup_limit)) << demo.output();

  demo.send_signal(SIGINT);
  ASSERT_TRUE(demo.wait_for_output("stubborn: asked to stop, ignoring it", exit_limit)) << demo.output();
  // serve() takes a repeat within 100 ms of the first signal as the same request.
  std::this_thread::sleep_for(250ms);
  EXPECT_FALSE(demo.wait_exit(0ms)) << "exited before the second signal\n" << demo.output();
  const auto exit = signal_and_wait(demo, SIGINT, "second SIGINT");

  ASSERT_TRUE(exit.status) << "still running " << exit.took.count() << " ms after the second SIGINT\n"
                           << demo.output();
  ASSERT_TRUE(WIFEXITED(*exit.status)) << demo.output();
  EXPECT_EQ(WEXITSTATUS(*exit.status), 1) << demo.output();
  EXPECT_LT(exit.took, exit_limit);
  EXPECT_NE(demo.output().find("received SIGINT again"), std::string::npos) << demo.output();
  // The shutdown report names the worker that had to be forced, by its path.
  EXPECT_NE(demo.output().find("demo_service/stubborn: forced"), std::string::npos) << demo.output();
}

TEST_F(DemoService, DurationStopsItOnItsOwnWithExitCodeZero) {
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port, "DURATION=0.3"});
  const auto status = demo.wait_exit(startup_limit);

  ASSERT_TRUE(status) << demo.output();
  ASSERT_TRUE(WIFEXITED(*status)) << demo.output();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << demo.output();
  EXPECT_NE(demo.output().find("DURATION of 300 ms elapsed"), std::string::npos) << demo.output();
  EXPECT_NE(demo.output().find("shutdown report: every worker stopped cleanly"), std::string::npos) << demo.output();
}

TEST_F(DemoService, AMalformedDurationIsRefusedWithExitCodeTwo) {
  Process demo(demo_path(), {any_port, "DURATION=soon"});
  const auto status = demo.wait_exit(startup_limit);

  ASSERT_TRUE(status) << demo.output();
  ASSERT_TRUE(WIFEXITED(*status)) << demo.output();
  EXPECT_EQ(WEXITSTATUS(*status), 2) << demo.output();
  EXPECT_NE(demo.output().find("DURATION"), std::string::npos) << demo.output();
}

}  // namespace
