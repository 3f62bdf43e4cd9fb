// serve(): exit codes, signals, startup timeout, configuration, threads.

#include "support/workers.hpp"

#include <fluid/serve.hpp>
#include <fluid/workers.hpp>

#include "support/captured_log.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <unistd.h>

using namespace fluid;
using namespace fluid::test;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;

namespace {

class ShortLived : public Worker {
 public:
  using Worker::Worker;

 protected:
  Task<> run() override { co_await sleep(10ms); }
};

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
  const auto start = Clock::now();
  EXPECT_EQ(serve(root, {.startup_timeout = 50ms, .handle_signals = false}), exit_failed);
  EXPECT_LT(Clock::now() - start, 5s);
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
  const auto start = Clock::now();
  EXPECT_EQ(serve(root), exit_forced);
  EXPECT_LT(Clock::now() - start, 5s);
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
  const auto start = Clock::now();
  EXPECT_EQ(serve(root), exit_forced);
  // Forced by its grace period, not at once by a "second" request.
  EXPECT_GE(Clock::now() - start, 300ms);
}

TEST(Serve, ShutdownTimeoutForcesTheRootAfterTheFirstSignal) {
  CapturedLog log;
  auto stubborn = std::make_shared<BadWorker>(WorkerOptions{.name = "stubborn", .stopping_grace_period = 1h});
  Workers root({stubborn, std::make_shared<SignalSender>(std::vector<int>{SIGTERM})},
               {.name = "service", .stopping_grace_period = 1h});
  const auto start = Clock::now();
  EXPECT_EQ(serve(root, {.shutdown_timeout = 50ms}), exit_forced);
  EXPECT_LT(Clock::now() - start, 5s);
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
  const auto start = Clock::now();
  EXPECT_EQ(serve(root, {.startup_timeout = 1h, .handle_signals = false}), exit_failed);
  EXPECT_LT(Clock::now() - start, 10s);
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
    const auto start = Clock::now();
    EXPECT_EQ(serve(root, {.threads = threads, .handle_signals = false}), exit_failed) << threads << " threads";
    EXPECT_LT(Clock::now() - start, 10s);
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
