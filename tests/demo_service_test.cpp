// demo_service as a real process: started, sent signals, and judged by its
// exit code, how long it took to exit and what it logged.

#include "support/process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <regex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using fluid::test::Process;

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

// ---------------------------------------------------------------- from outside: the command line

namespace {

/// The demo's status port, from its line "status: http://127.0.0.1:PORT/".
std::uint16_t status_port_of(Process& demo) {
  if (!demo.wait_for_output("(status: http://127.0.0.1:", startup_limit)) return 0;
  demo.wait_for_output("/)", 5s);
  std::smatch match;
  const std::regex url(R"(status: http://127\.0\.0\.1:([0-9]+)/)");
  if (!std::regex_search(demo.output(), match, url)) return 0;
  return static_cast<std::uint16_t>(std::stoi(match[1]));
}

struct Reply {
  int status = 0;  // 0: no answer
  std::string body;
};

/// GET `path` from 127.0.0.1:`port`, HTTP/1.0, blocking with a timeout.
Reply http_get(std::uint16_t port, const std::string& path) {
  Reply out;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    if (text.starts_with("HTTP/1.")) out.status = std::stoi(text.substr(9, 3));
    if (const auto body = text.find("\r\n\r\n"); body != std::string::npos) out.body = text.substr(body + 4);
  }
  ::close(fd);
  return out;
}

/// A datagram socket on an abstract address standing in for systemd's notification socket.
class NotifySocket {
 public:
  NotifySocket() : name_("@fluid-demo-notify-" + std::to_string(::getpid())) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name_.data(), name_.size());
    address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0) ADD_FAILURE() << std::strerror(errno);
  }
  ~NotifySocket() { ::close(fd_); }
  std::string env() const { return "NOTIFY_SOCKET=" + name_; }
  /// Receives until a message containing `part` arrives; every message seen is kept.
  bool wait_for(std::string_view part, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      for (const auto& m : messages_) {
        if (m.find(part) != std::string::npos) return true;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd poll_fd{fd_, POLLIN, 0};
      if (::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) return false;
      char buffer[4096];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) messages_.emplace_back(buffer, static_cast<std::size_t>(n));
    }
  }
  std::string seen() const {
    std::string out;
    for (const auto& m : messages_) out += "[" + m + "]\n";
    return out;
  }

 private:
  std::string name_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

}  // namespace

TEST_F(DemoService, HelpExitsZeroListingItsFlags) {
  Process demo(demo_path(), {}, {"--help"});
  const auto status = demo.wait_exit(startup_limit);
  ASSERT_TRUE(status) << demo.output();
  ASSERT_TRUE(WIFEXITED(*status)) << demo.output();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << demo.output();
  for (const char* flag : {"--threads", "--status-port", "--status-address", "--grace-period", "--log-format",
                           "STATUS_PORT", "FLUID_SERVE_THREADS"}) {
    EXPECT_NE(demo.output().find(flag), std::string::npos) << flag << " missing from\n" << demo.output();
  }
  EXPECT_EQ(demo.output().find("started running"), std::string::npos) << "nothing starts";
}

TEST_F(DemoService, AnUnknownFlagExitsTwoNamingIt) {
  Process demo(demo_path(), {any_port}, {"--no-such-flag"});
  const auto status = demo.wait_exit(startup_limit);
  ASSERT_TRUE(status) << demo.output();
  ASSERT_TRUE(WIFEXITED(*status)) << demo.output();
  EXPECT_EQ(WEXITSTATUS(*status), 2) << demo.output();
  EXPECT_NE(demo.output().find("--no-such-flag"), std::string::npos) << demo.output();
  EXPECT_EQ(demo.output().find("started running"), std::string::npos) << "nothing starts";
}

// `make demo` shows the task queue: the scheduled report fires at start and
// the receipts queued at start run to success, each start and end logged.
TEST_F(DemoService, ItsLogShowsTheScheduledAndQueuedTasksRun) {
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port});
  ASSERT_TRUE(demo.wait_for_output("report: run ", startup_limit)) << demo.output();
  for (const char* order : {"#1", "#2", "#3"}) {
    ASSERT_TRUE(demo.wait_for_output(std::string("receipt sent for order ") + order, startup_limit)) << demo.output();
  }
  ASSERT_TRUE(demo.wait_for_output("scheduled for its slot", startup_limit)) << demo.output();
  const std::regex queued("queued (send_receipt\\.[0-9a-f]{32}) for order #3");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(demo.output(), match, queued)) << demo.output();
  const auto third = match[1].str();
  ASSERT_TRUE(demo.wait_for_output(third + " - end - success", startup_limit)) << demo.output();
  EXPECT_LT(demo.output().find(third + " - start"), demo.output().find(third + " - end - success"));
  const auto exit = signal_and_wait(demo, SIGTERM, "SIGTERM with the task queue");
  ASSERT_TRUE(exit.status) << demo.output();
  EXPECT_TRUE(WIFEXITED(*exit.status) && WEXITSTATUS(*exit.status) == 0) << demo.output();
}

TEST_F(DemoService, ItsFirstLinesSayWhereToLook) {
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port});
  ASSERT_NE(status_port_of(demo), 0) << demo.output();
  ASSERT_TRUE(demo.wait_for_output("demo_service started running", startup_limit)) << demo.output();
  const auto look = demo.output().find("status: http://127.0.0.1:");
  EXPECT_LT(demo.output().find("status_server started running"), demo.output().find("demo_service started running"));
  EXPECT_LT(look, demo.output().find("event_log started running")) << demo.output();
}

TEST_F(DemoService, TellsSystemdReadyStoppingAndPingsTheWatchdog) {
  NotifySocket systemd;
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port, systemd.env(), "WATCHDOG_USEC=200000"});
  ASSERT_TRUE(systemd.wait_for("READY=1", startup_limit)) << systemd.seen() << demo.output();
  // READY=1 comes after the root's startup, which logs this line before it returns.
  EXPECT_TRUE(demo.wait_for_output("demo_service started running", 5s)) << demo.output();
  EXPECT_TRUE(systemd.wait_for("WATCHDOG=1", 5s)) << systemd.seen();
  EXPECT_EQ(systemd.seen().find("STOPPING=1"), std::string::npos) << systemd.seen();
  const auto exit = signal_and_wait(demo, SIGTERM, "SIGTERM");
  EXPECT_TRUE(systemd.wait_for("STOPPING=1", 5s)) << systemd.seen();
  ASSERT_TRUE(exit.status) << demo.output();
  EXPECT_TRUE(WIFEXITED(*exit.status) && WEXITSTATUS(*exit.status) == 0) << demo.output();
}

TEST_F(DemoService, DuringASlowStopHealthStays200WhileReadyIs503UntilTheTreeHasStopped) {
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port, "DEMO_STUBBORN=1"}, {"--grace-period", "3"});
  const auto port = status_port_of(demo);
  ASSERT_NE(port, 0) << demo.output();
  ASSERT_TRUE(demo.wait_for_output("demo_service started running", startup_limit)) << demo.output();
  EXPECT_EQ(http_get(port, "/ready").status, 200);
  demo.send_signal(SIGTERM);
  ASSERT_TRUE(demo.wait_for_output("stubborn: asked to stop, ignoring it", exit_limit)) << demo.output();
  // The rest has stopped at once; the stubborn worker keeps the tree stopping until the grace period forces it.
  const auto health = http_get(port, "/health");
  const auto ready = http_get(port, "/ready");
  const auto metrics = http_get(port, "/metrics");
  const bool stopping = demo.running();
  const auto exit = demo.wait_exit(exit_limit + 5s);
  EXPECT_TRUE(stopping) << "the test looked too late\n" << demo.output();
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find(R"("demo_service/stubborn": "stopping")"), std::string::npos) << ready.body;
  EXPECT_EQ(metrics.status, 200) << "the last scrapes still work";
  ASSERT_TRUE(exit) << demo.output();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 1) << "forced by its grace period\n" << demo.output();
  EXPECT_EQ(http_get(port, "/health").status, 0) << "nothing answers once it has exited";
}

TEST_F(DemoService, MetricsHaveTheProcessAndTheDemosOwnCounters) {
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port});
  const auto port = status_port_of(demo);
  ASSERT_NE(port, 0) << demo.output();
  ASSERT_TRUE(demo.wait_for_output("demo_service started running", startup_limit)) << demo.output();
  std::this_thread::sleep_for(200ms);  // a few events produced
  const auto metrics = http_get(port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("\nprocess_resident_memory_bytes "), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find(R"(demo_events_produced_total{type="order.created"} )"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("# TYPE demo_events_produced_total counter"), std::string::npos);
  const auto exit = signal_and_wait(demo, SIGTERM, "SIGTERM");
  ASSERT_TRUE(exit.status);
  EXPECT_EQ(WEXITSTATUS(*exit.status), 0) << demo.output();
}

TEST_F(DemoService, TheRootPageIsHtmlNamingEveryWorker) {
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port, "DURATION=60"});
  const auto port = status_port_of(demo);
  ASSERT_NE(port, 0) << demo.output();
  ASSERT_TRUE(demo.wait_for_output("demo_service started running", startup_limit)) << demo.output();
  const auto page = http_get(port, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(page.body.starts_with("<!doctype html>")) << page.body;
  for (const char* worker : {"demo_service", "status_server", "event_log", "event_dispatcher", "producer",
                             "stop_after", "reporter"}) {
    EXPECT_NE(page.body.find(std::string(">") + worker + "<"), std::string::npos) << worker << "\n" << page.body;
  }
  signal_and_wait(demo, SIGTERM, "SIGTERM");
}

TEST_F(DemoService, SighupDoesNotStopItAndSigtermStillDoesWithExitCodeZero) {
  Process demo(demo_path(), {"LOG_LEVEL=info", any_port});
  ASSERT_TRUE(demo.wait_for_output("demo_service started running", startup_limit)) << demo.output();
  demo.send_signal(SIGHUP);
  ASSERT_TRUE(demo.wait_for_output("received SIGHUP", exit_limit)) << demo.output();
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(demo.running()) << demo.output();
  demo.send_signal(SIGQUIT);
  ASSERT_TRUE(demo.wait_for_output("received SIGQUIT: status of demo_service:", exit_limit)) << demo.output();
  EXPECT_TRUE(demo.running()) << demo.output();
  const auto exit = signal_and_wait(demo, SIGTERM, "SIGTERM after SIGHUP");
  ASSERT_TRUE(exit.status) << demo.output();
  ASSERT_TRUE(WIFEXITED(*exit.status)) << demo.output();
  EXPECT_EQ(WEXITSTATUS(*exit.status), 0) << demo.output();
  EXPECT_NE(demo.output().find("shutdown report: every worker stopped cleanly"), std::string::npos) << demo.output();
}
