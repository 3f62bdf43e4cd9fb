// serve(): exit codes, signals, startup timeout, configuration, threads.

#include "support/workers.hpp"

#include <fluid/serve.hpp>
#include <fluid/version.hpp>
#include <fluid/workers.hpp>

#include "support/captured_log.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <initializer_list>
#include <string>
#include <csignal>
#include <mutex>
#include <unistd.h>

using namespace fluid;
using namespace fluid::test;
using SteadyClock = std::chrono::steady_clock;
namespace asio = boost::asio;

namespace {

/// Sends `signals` to its own process once running, `gap` apart.
class SignalSender : public Worker {
 public:
  SignalSender(std::vector<int> signals, std::chrono::milliseconds gap = 20ms)
      : signals_(std::move(signals)), gap_(gap) {}

 protected:
  Task<> run() override {
    for (int number : signals_) {
      co_await sleep(gap_);
      ::kill(::getpid(), number);
    }
    co_await stop_requested();
  }

 private:
  std::vector<int> signals_;
  std::chrono::milliseconds gap_;
};

class NeverReady : public NiceWorker {
 public:
  using NiceWorker::NiceWorker;

 protected:
  Task<> on_startup() override { co_await sleep(1h); }
};

/// Blocks its thread until the other instance arrives: only two threads let
/// both arrive.
class Rendezvous {
 public:
  bool arrive_and_wait() {
    std::unique_lock lock(mutex_);
    ++arrived_;
    ready_.notify_all();
    return ready_.wait_for(lock, 5s, [this] { return arrived_ >= 2; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  int arrived_ = 0;
};

class MeetsOnAnotherThread : public Worker {
 public:
  MeetsOnAnotherThread(Rendezvous& rendezvous, std::string name)
      : Worker({.name = std::move(name)}), rendezvous_(rendezvous) {}
  bool met = false;

 protected:
  Task<> run() override {
    co_await sleep(1ms);
    met = rendezvous_.arrive_and_wait();
  }

 private:
  Rendezvous& rendezvous_;
};

/// Its run() starts a task whose failure its completion handler rethrows
/// (the co_spawn idiom), so the exception escapes the event loop's run().
class ThrowsOutOfTheLoop : public Worker {
 public:
  using Worker::Worker;

 protected:
  Task<> run() override {
    auto fails = []() -> Task<> {
      co_await sleep(1ms);
      throw std::runtime_error("lost in a handler");
    };
    asio::co_spawn(co_await asio::this_coro::executor, fails(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    for (;;) {
      const bool running = co_await sleep_while_running(1h);
      if (!running) break;
    }
  }
};

ServeOptions quiet() { return ServeOptions{.handle_signals = false}; }

}  // namespace

TEST(Serve, ReturnsZeroWhenTheRootStopsCleanly) {
  Workers root({std::make_shared<ShortLived>(), std::make_shared<NiceWorker>()});
  EXPECT_EQ(serve(root, quiet()), exit_clean);
  EXPECT_TRUE(root.is_stopped());
  EXPECT_TRUE(shutdown_report(root).empty());
}

TEST(Serve, ReturnsTwoAndNamesTheWorkerWhenOneFails) {
  Workers root({std::make_shared<NiceWorker>(), std::make_shared<BadWorker2>()}, {.name = "service"});
  EXPECT_EQ(serve(root, quiet()), exit_failed);
  const auto report = shutdown_report(root);
  EXPECT_EQ(report.size(), 1u);
  if (!report.empty()) {
    EXPECT_EQ(report[0].path, "service/bad_worker2");
    EXPECT_EQ(report[0].reason, StopReason::failed);
    EXPECT_EQ(report[0].detail, "I'm so bad");
  }
}

TEST(Serve, ReturnsTwoWhenStartupFails) {
  ScopedEnv env("FLUID_STOPPING_GRACE_PERIOD", "later");
  NiceWorker root;
  EXPECT_EQ(serve(root, quiet()), exit_failed);
}

TEST(Serve, ReturnsTwoWhenAChildCannotLeaveInit) {
  // The group used to hang for ever: the child counted as started, never finished.
  Workers root({std::make_shared<NiceWorker>(),
                std::make_shared<NiceWorker>(WorkerOptions{.name = "impatient", .stopping_grace_period = -1ms})},
               {.name = "service"});
  EXPECT_EQ(serve(root, quiet()), exit_failed);
  EXPECT_TRUE(root.is_stopped());
}

TEST(Serve, StartupTimeoutStopsTheRootAndReturnsTwo) {
  auto slow = std::make_shared<NeverReady>();
  Workers root({std::make_shared<NiceWorker>(), slow});
  const auto start = SteadyClock::now();
  EXPECT_EQ(serve(root, {.startup_timeout = 50ms, .handle_signals = false}), exit_failed);
  EXPECT_LT(SteadyClock::now() - start, 5s);
  EXPECT_TRUE(root.is_stopped());
  EXPECT_TRUE(slow->is_stopped());
}

TEST(Serve, BadConfigurationFailsAtOnceWithCodeTwo) {
  NiceWorker root;
  EXPECT_EQ(serve(root, {.threads = 0}), exit_failed);
  EXPECT_EQ(root.worker_state(), WorkerState::init);
  for (const char* bad : {"0", "-2", "two", ""}) {
    ScopedEnv env("FLUID_SERVE_THREADS", bad);
    EXPECT_EQ(serve(root), exit_failed) << bad;
  }
  ScopedEnv env("FLUID_SERVE_STARTUP_TIMEOUT", "soon");
  EXPECT_EQ(serve(root), exit_failed);
  EXPECT_EQ(root.worker_state(), WorkerState::init);
}

TEST(Serve, SigtermStopsTheServiceGracefullyWithCodeZero) {
  Workers root({std::make_shared<NiceWorker>(), std::make_shared<SignalSender>(std::vector<int>{SIGTERM})});
  EXPECT_EQ(serve(root), exit_clean);
  for (auto* child : root.workers()) EXPECT_EQ(child->worker_state(), WorkerState::stopped);
}

TEST(Serve, SecondSigintForcesAStubbornWorkerAndReturnsOne) {
  auto stubborn = std::make_shared<BadWorker>(WorkerOptions{.name = "stubborn", .stopping_grace_period = 1h});
  Workers root({stubborn, std::make_shared<SignalSender>(std::vector<int>{SIGINT, SIGINT}, 200ms)},
               {.name = "service", .stopping_grace_period = 1h});
  const auto start = SteadyClock::now();
  EXPECT_EQ(serve(root), exit_forced);
  EXPECT_LT(SteadyClock::now() - start, 5s);
  EXPECT_EQ(stubborn->worker_state(), WorkerState::force_stopped);
  bool named = false;
  for (const auto& line : shutdown_report(root, ForceCause{.kind = ForceCause::Kind::second_signal, .signal = SIGINT})) {
    if (line.path != "service/stubborn") continue;
    named = true;
    EXPECT_EQ(line.detail, "forced by a second SIGINT (its grace period: 3600000ms)");
  }
  EXPECT_TRUE(named);
}

TEST(Serve, ASignalDeliveredTwiceAtOnceIsOneRequest) {
  auto stubborn = std::make_shared<BadWorker>(WorkerOptions{.stopping_grace_period = 300ms});
  Workers root({stubborn, std::make_shared<SignalSender>(std::vector<int>{SIGTERM, SIGTERM}, 1ms)});
  const auto start = SteadyClock::now();
  EXPECT_EQ(serve(root), exit_forced);
  // Forced by its grace period, not at once by a "second" request.
  EXPECT_GE(SteadyClock::now() - start, 300ms);
}

TEST(Serve, ShutdownTimeoutForcesTheRootAfterTheFirstSignal) {
  CapturedLog log;
  auto stubborn = std::make_shared<BadWorker>(WorkerOptions{.name = "stubborn", .stopping_grace_period = 1h});
  Workers root({stubborn, std::make_shared<SignalSender>(std::vector<int>{SIGTERM})},
               {.name = "service", .stopping_grace_period = 1h});
  const auto start = SteadyClock::now();
  EXPECT_EQ(serve(root, {.shutdown_timeout = 50ms}), exit_forced);
  EXPECT_LT(SteadyClock::now() - start, 5s);
  EXPECT_EQ(stubborn->worker_state(), WorkerState::force_stopped);
  EXPECT_TRUE(log.contains("service/stubborn: forced: forced after the shutdown timeout of 50ms (its grace period: "
                           "3600000ms)"))
      << log.text();
}

TEST(Serve, TheReportSaysTheStartupTimeoutForcedTheHalfStartedTree) {
  CapturedLog log;
  Workers root({std::make_shared<NiceWorker>(), std::make_shared<NeverReady>(WorkerOptions{.name = "slow"})},
               {.name = "service"});
  EXPECT_EQ(serve(root, {.startup_timeout = 50ms, .handle_signals = false}), exit_failed);
  EXPECT_TRUE(log.contains("service failed to start: service was not ready within the startup timeout of 50ms"))
      << log.text();
  EXPECT_TRUE(log.contains("service/slow: forced: forced after the startup timeout of 50ms")) << log.text();
}

TEST(Serve, AStartupThatFailsAtOnceIsNotKeptWaitingForTheStartupTimeout) {
  CapturedLog log;
  ScopedEnv env("FLUID_STOPPING_GRACE_PERIOD", "later");
  NiceWorker root;
  const auto start = SteadyClock::now();
  EXPECT_EQ(serve(root, {.startup_timeout = 1h, .handle_signals = false}), exit_failed);
  EXPECT_LT(SteadyClock::now() - start, 10s);
  EXPECT_TRUE(log.contains("FLUID_STOPPING_GRACE_PERIOD")) << log.text();
}

TEST(ForceCause, EachCauseReadsAsWhatForcedTheStop) {
  EXPECT_EQ(to_string(ForceCause{.kind = ForceCause::Kind::second_signal, .signal = SIGTERM}),
            "forced by a second SIGTERM");
  EXPECT_EQ(to_string(ForceCause{.kind = ForceCause::Kind::shutdown_timeout, .timeout = 1500ms}),
            "forced after the shutdown timeout of 1500ms");
  EXPECT_EQ(to_string(ForceCause{.kind = ForceCause::Kind::startup_timeout, .timeout = 50ms}),
            "forced after the startup timeout of 50ms");
  EXPECT_EQ(to_string(ForceCause{.kind = ForceCause::Kind::escaped_exception}),
            "forced after an exception escaped a handler");
}

TEST(Serve, IndependentWorkersRunInParallelOnTwoThreads) {
  Rendezvous rendezvous;
  auto a = std::make_shared<MeetsOnAnotherThread>(rendezvous, "a");
  auto b = std::make_shared<MeetsOnAnotherThread>(rendezvous, "b");
  Workers root({a, b});
  EXPECT_EQ(serve(root, {.threads = 2, .handle_signals = false}), exit_clean);
  EXPECT_TRUE(a->met);
  EXPECT_TRUE(b->met);
}

TEST(Serve, AnExceptionEscapingAHandlerStopsTheTreeAndReturnsTwoOnAnyThreadCount) {
  for (const std::size_t threads : {1, 2, 4}) {
    CapturedLog log;
    Workers root({std::make_shared<NiceWorker>(), std::make_shared<ThrowsOutOfTheLoop>()}, {.name = "service"});
    const auto start = SteadyClock::now();
    EXPECT_EQ(serve(root, {.threads = threads, .handle_signals = false}), exit_failed) << threads << " threads";
    EXPECT_LT(SteadyClock::now() - start, 10s);
    // Stopped, not abandoned: destroying a running root would abort.
    EXPECT_TRUE(root.is_stopped()) << threads << " threads";
    EXPECT_TRUE(log.contains("service: an exception escaped a handler on the event loop: lost in a handler"))
        << log.text();
  }
}

TEST(Serve, AForcedRootWithAFailedChildReportsTheFailureWithCodeTwo) {
  // A failure is never hidden: it outranks the forced stop of the root.
  auto stubborn = std::make_shared<BadWorker>(WorkerOptions{.name = "stubborn", .stopping_grace_period = 1h});
  auto fragile = std::make_shared<FailingCleanupWorker>(WorkerOptions{.name = "fragile"});
  Workers root({stubborn, fragile, std::make_shared<SignalSender>(std::vector<int>{SIGINT, SIGINT}, 200ms)},
               {.name = "service", .stopping_grace_period = 1h});
  EXPECT_EQ(serve(root), exit_failed);
  EXPECT_EQ(root.worker_state(), WorkerState::force_stopped);
  EXPECT_EQ(root.stop_reason(), StopReason::failed);
  EXPECT_EQ(stubborn->worker_state(), WorkerState::force_stopped);
  bool failure_listed = false;
  for (const auto& line : shutdown_report(root)) {
    if (line.path == "service/fragile") failure_listed = line.reason == StopReason::failed && line.detail == "cleanup failed";
  }
  EXPECT_TRUE(failure_listed);
}

TEST(Serve, SigtermDuringASlowStartupIsAStopNotAStartupFailure) {
  CapturedLog log;
  // The signal comes from the first child while the second is still starting.
  Workers root({std::make_shared<SignalSender>(std::vector<int>{SIGTERM}),
                std::make_shared<NeverReady>(WorkerOptions{.name = "slow"})},
               {.name = "service", .stopping_grace_period = 100ms});
  const auto code = serve(root);
  EXPECT_EQ(code, exit_forced) << log.text();
  EXPECT_TRUE(log.contains("received SIGTERM")) << log.text();
  EXPECT_FALSE(log.contains("failed to start")) << log.text();
  // A group asked to stop while starting starts no further child and its
  // startup() returns (as a plain worker's does): the stop is reported as one.
  EXPECT_EQ(root.stop_reason(), StopReason::forced);
  EXPECT_TRUE(root.is_stopped());
}

// ---------------------------------------------------------------- SIGHUP, SIGQUIT

TEST(Serve, SighupRunsTheReloadHookAndTheServiceKeepsRunning) {
  CapturedLog log;
  int reloads = 0;
  Workers root({std::make_shared<NiceWorker>(), std::make_shared<SignalSender>(std::vector<int>{SIGHUP, SIGTERM}, 50ms)},
               {.name = "service"});
  ServeOptions options;
  options.reload = [&reloads]() -> Task<> {
    ++reloads;
    co_return;
  };
  EXPECT_EQ(serve(root, options), exit_clean) << log.text();
  EXPECT_EQ(reloads, 1);
  EXPECT_TRUE(log.contains("received SIGHUP: reloading service")) << log.text();
  EXPECT_TRUE(log.contains("service: reload done")) << log.text();
  EXPECT_TRUE(log.contains("received SIGTERM")) << "it was still running when SIGTERM came\n" << log.text();
}

TEST(Serve, SighupWithoutAReloadHookIsLoggedAndIgnored) {
  CapturedLog log;
  Workers root({std::make_shared<NiceWorker>(), std::make_shared<SignalSender>(std::vector<int>{SIGHUP, SIGTERM}, 50ms)},
               {.name = "service"});
  EXPECT_EQ(serve(root), exit_clean) << log.text();
  EXPECT_TRUE(log.contains("received SIGHUP: service has no reload hook; ignored")) << log.text();
}

TEST(Serve, AReloadHookThatThrowsIsLoggedAndTheServiceGoesOn) {
  CapturedLog log;
  Workers root({std::make_shared<NiceWorker>(), std::make_shared<SignalSender>(std::vector<int>{SIGHUP, SIGTERM}, 50ms)},
               {.name = "service"});
  ServeOptions options;
  options.reload = []() -> Task<> {
    co_await sleep(1ms);
    throw std::runtime_error("config.yaml: bad indentation");
  };
  EXPECT_EQ(serve(root, options), exit_clean) << log.text();
  EXPECT_TRUE(log.contains("service: reload failed: config.yaml: bad indentation; still running as before"))
      << log.text();
}

TEST(Serve, SigquitLogsTheStatusOfTheTreeAndKeepsRunning) {
  CapturedLog log;
  Workers root({std::make_shared<NiceWorker>(WorkerOptions{.name = "busy"}),
                std::make_shared<SignalSender>(std::vector<int>{SIGQUIT, SIGTERM}, 50ms)},
               {.name = "service"});
  EXPECT_EQ(serve(root), exit_clean) << log.text();
  const auto text = log.text();
  const auto dump = text.find("received SIGQUIT: status of service:");
  ASSERT_NE(dump, std::string::npos) << text;
  EXPECT_NE(text.find("\"busy\": {", dump), std::string::npos) << text;
  EXPECT_NE(text.find("received SIGTERM", dump), std::string::npos) << text;
}

// ---------------------------------------------------------------- the command line

namespace {

/// argv for the command-line serve(), owning its words.
class Args {
 public:
  Args(std::initializer_list<std::string> words) : words_(words) {
    for (auto& word : words_) pointers_.push_back(word.data());
    pointers_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(words_.size()); }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> words_;
  std::vector<char*> pointers_;
};

/// The variables the command line may set, restored when the test ends.
struct CommandLineEnv {
  ScopedEnv grace{"FLUID_STOPPING_GRACE_PERIOD", nullptr};
  ScopedEnv address{"STATUS_ADDRESS", nullptr};
  ScopedEnv port{"STATUS_PORT", nullptr};
  ScopedEnv threads{"FLUID_SERVE_THREADS", nullptr};
};

}  // namespace

TEST(ServeCommandLine, HelpListsEveryFlagWithItsVariableAndReturnsZeroStartingNothing) {
  const CommandLineEnv env;
  NiceWorker root({.name = "service"});
  Args args{"service", "--help"};
  testing::internal::CaptureStdout();
  const int code = serve(args.argc(), args.argv(), root, {.description = "Serves the example."});
  const auto help = testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, exit_clean);
  EXPECT_EQ(root.worker_state(), WorkerState::init);
  EXPECT_NE(help.find("Serves the example."), std::string::npos) << help;
  for (const char* expected : {"--help", "--version", "--threads", "FLUID_SERVE_THREADS", "--grace-period",
                               "FLUID_STOPPING_GRACE_PERIOD", "--startup-timeout", "FLUID_SERVE_STARTUP_TIMEOUT",
                               "--shutdown-timeout", "FLUID_SERVE_SHUTDOWN_TIMEOUT", "--status-address",
                               "STATUS_ADDRESS", "--status-port", "STATUS_PORT", "--log-level", "LOG_LEVEL",
                               "--log-format", "FLUID_LOG_FORMAT"}) {
    EXPECT_NE(help.find(expected), std::string::npos) << expected << " missing from\n" << help;
  }
}

TEST(ServeCommandLine, VersionNamesTheApplicationsVersionAndFluidsAndReturnsZero) {
  const CommandLineEnv env;
  NiceWorker root;
  Args args{"/usr/local/bin/service", "--version"};
  testing::internal::CaptureStdout();
  const int code = serve(args.argc(), args.argv(), root, {.version = "2.3.1"});
  const auto out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, exit_clean);
  EXPECT_EQ(out, "service 2.3.1 (fluid " + std::string(fluid::version()) + ")\n");
  EXPECT_EQ(root.worker_state(), WorkerState::init);
}

TEST(ServeCommandLine, AnUnknownOptionReturnsTwoNamingItAndStartsNothing) {
  const CommandLineEnv env;
  NiceWorker root;
  Args args{"service", "--no-such-flag"};
  testing::internal::CaptureStderr();
  const int code = serve(args.argc(), args.argv(), root);
  const auto err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, exit_failed);
  EXPECT_NE(err.find("--no-such-flag"), std::string::npos) << err;
  EXPECT_EQ(root.worker_state(), WorkerState::init);
}

TEST(ServeCommandLine, ABadValueReturnsTwoNamingTheFlagAndTheValueAndStartsNothing) {
  const CommandLineEnv env;
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{{"--threads", "0"},
                                                                                    {"--threads", "many"},
                                                                                    {"--grace-period", "soon"},
                                                                                    {"--shutdown-timeout", "-1"},
                                                                                    {"--startup-timeout", "1.5s"},
                                                                                    {"--status-port", "70000"},
                                                                                    {"--log-level", "loud"},
                                                                                    {"--log-format", "yaml"}}) {
    NiceWorker root;
    Args args{"service", flag, value};
    testing::internal::CaptureStderr();
    const int code = serve(args.argc(), args.argv(), root);
    const auto err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(code, exit_failed) << flag << " " << value;
    EXPECT_NE(err.find(flag), std::string::npos) << err;
    EXPECT_NE(err.find("\"" + value + "\""), std::string::npos) << err;
    EXPECT_EQ(root.worker_state(), WorkerState::init);
  }
}

TEST(ServeCommandLine, ThreadsFlagWinsOverTheOptionAndTheEnvironment) {
  const CommandLineEnv env;
  ScopedEnv threads("FLUID_SERVE_THREADS", "1");
  Rendezvous rendezvous;
  auto a = std::make_shared<MeetsOnAnotherThread>(rendezvous, "a");
  auto b = std::make_shared<MeetsOnAnotherThread>(rendezvous, "b");
  Workers root({a, b});
  Args args{"service", "--threads", "2"};
  EXPECT_EQ(serve(args.argc(), args.argv(), root, {.threads = 1, .handle_signals = false}), exit_clean);
  EXPECT_TRUE(a->met && b->met) << "both ran at once: two threads";
}

TEST(ServeCommandLine, GracePeriodFlagReachesEveryWorkerWithoutOneOfItsOwn) {
  const CommandLineEnv env;
  auto stubborn = std::make_shared<BadWorker>(WorkerOptions{.name = "stubborn"});
  Workers root({stubborn, std::make_shared<SignalSender>(std::vector<int>{SIGTERM})}, {.name = "service"});
  Args args{"service", "--grace-period", "0.05"};
  const auto start = SteadyClock::now();
  EXPECT_EQ(serve(args.argc(), args.argv(), root), exit_forced);
  EXPECT_LT(SteadyClock::now() - start, 5s) << "the default grace period is 10 s";
  EXPECT_EQ(stubborn->stopping_grace_period(), 50ms);
}

// ---------------------------------------------------------------- systemd

namespace {

/// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  /// On an abstract address ("@name") or, with `path`, a file.
  explicit NotifySocket(bool path = false) {
    static std::atomic<int> sequence{0};
    const auto unique = std::to_string(::getpid()) + "-" + std::to_string(sequence++);
    name_ = path ? (::testing::TempDir() + "fluid-notify-" + unique) : "@fluid-notify-" + unique;
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name_.data(), name_.size());
    if (!path) address.sun_path[0] = '\0';
    const auto length = offsetof(sockaddr_un, sun_path) + name_.size() + (path ? 1 : 0);
    if (path) ::unlink(name_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), static_cast<socklen_t>(length)) != 0) {
      ADD_FAILURE() << "bind " << name_ << ": " << std::strerror(errno);
    }
  }
  ~NotifySocket() {
    ::close(fd_);
    if (!name_.starts_with('@')) ::unlink(name_.c_str());
  }
  const std::string& name() const { return name_; }
  /// Every datagram received so far, in order.
  std::vector<std::string> messages() {
    std::vector<std::string> out;
    char buffer[4096];
    for (;;) {
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0) break;
      out.emplace_back(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  std::string name_;
  int fd_ = -1;
};

std::ptrdiff_t index_of(const std::vector<std::string>& messages, const std::string& part) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].find(part) != std::string::npos) return static_cast<std::ptrdiff_t>(i);
  }
  return -1;
}

std::string joined(const std::vector<std::string>& messages) {
  std::string out;
  for (const auto& m : messages) out += "[" + m + "]\n";
  return out;
}

}  // namespace

TEST(ServeSystemd, SaysReadyOnceStartedThenStoppingAfterSigtermThenHowItEnded) {
  NotifySocket systemd;
  ScopedEnv socket("NOTIFY_SOCKET", systemd.name().c_str());
  ScopedEnv watchdog("WATCHDOG_USEC", nullptr);
  Workers root({std::make_shared<NiceWorker>(), std::make_shared<SignalSender>(std::vector<int>{SIGTERM}, 50ms)});
  EXPECT_EQ(serve(root), exit_clean);
  const auto messages = systemd.messages();
  const auto ready = index_of(messages, "READY=1");
  const auto stopping = index_of(messages, "STOPPING=1");
  ASSERT_GE(ready, 0) << joined(messages);
  ASSERT_GE(stopping, 0) << joined(messages);
  EXPECT_LT(ready, stopping) << joined(messages);
  EXPECT_NE(messages[static_cast<std::size_t>(stopping)].find("STATUS=stopping: received SIGTERM"), std::string::npos)
      << joined(messages);
  EXPECT_EQ(messages.back(), "STATUS=stopped, exit code 0") << joined(messages);
  EXPECT_EQ(index_of(messages, "WATCHDOG=1"), -1) << "no WATCHDOG_USEC, no pings\n" << joined(messages);
}

TEST(ServeSystemd, PingsTheWatchdogEveryHalfWatchdogUsecFromTheLoop) {
  NotifySocket systemd(/*path=*/true);
  ScopedEnv socket("NOTIFY_SOCKET", systemd.name().c_str());
  ScopedEnv watchdog("WATCHDOG_USEC", "20000");  // a ping every 10 ms
  ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid()).c_str());
  Workers root({std::make_shared<NiceWorker>(), std::make_shared<SignalSender>(std::vector<int>{SIGTERM}, 300ms)});
  EXPECT_EQ(serve(root), exit_clean);
  const auto messages = systemd.messages();
  const auto pings = std::count(messages.begin(), messages.end(), std::string("WATCHDOG=1"));
  EXPECT_GE(pings, 3) << joined(messages);
}

TEST(ServeSystemd, AWatchdogMeantForAnotherProcessIsNotPinged) {
  NotifySocket systemd;
  ScopedEnv socket("NOTIFY_SOCKET", systemd.name().c_str());
  ScopedEnv watchdog("WATCHDOG_USEC", "20000");
  ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str());
  Workers root({std::make_shared<NiceWorker>(), std::make_shared<SignalSender>(std::vector<int>{SIGTERM}, 100ms)});
  EXPECT_EQ(serve(root), exit_clean);
  EXPECT_EQ(index_of(systemd.messages(), "WATCHDOG=1"), -1);
}

TEST(ServeSystemd, ARootStoppingOnItsOwnSaysStoppingToo) {
  NotifySocket systemd;
  ScopedEnv socket("NOTIFY_SOCKET", systemd.name().c_str());
  ScopedEnv watchdog("WATCHDOG_USEC", nullptr);
  Workers root({std::make_shared<ShortLived>(), std::make_shared<NiceWorker>()}, {.name = "service"});
  EXPECT_EQ(serve(root, quiet()), exit_clean);
  const auto messages = systemd.messages();
  EXPECT_GE(index_of(messages, "STOPPING=1"), index_of(messages, "READY=1")) << joined(messages);
  EXPECT_GE(index_of(messages, "READY=1"), 0) << joined(messages);
}

TEST(ServeSystemd, AStartupFailureIsTheLastStatus) {
  NotifySocket systemd;
  ScopedEnv socket("NOTIFY_SOCKET", systemd.name().c_str());
  ScopedEnv grace("FLUID_STOPPING_GRACE_PERIOD", "later");
  NiceWorker root;
  EXPECT_EQ(serve(root, quiet()), exit_failed);
  const auto messages = systemd.messages();
  EXPECT_EQ(index_of(messages, "READY=1"), -1) << joined(messages);
  EXPECT_GE(index_of(messages, "STATUS=failed to start: worker nice_worker: FLUID_STOPPING_GRACE_PERIOD"), 0)
      << joined(messages);
}
