// The Worker lifecycle: aio-fluid's test_worker cases, then fluid's own
// guarantees (startup means ready, on_shutdown on every path, nothing hangs).

#include "support/workers.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <atomic>
#include <functional>
#include <latch>
#include <memory>
#include <thread>

using namespace fluid;
using namespace fluid::test;
using SteadyClock = std::chrono::steady_clock;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr auto short_grace = 100ms;

// Rounds of a test racing two threads: enough to lose a race 5 runs in 6
// before its fix; fewer under sanitizers, which check the memory, not the odds.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int race_rounds = 300;
#else
constexpr int race_rounds = 3000;
#endif

class SlowStartWorker : public NiceWorker {
 public:
  using NiceWorker::NiceWorker;
  bool ready = false;

 protected:
  Task<> on_startup() override {
    co_await sleep(20ms);
    ready = true;
  }
};

class FailingStartWorker : public RecordingWorker {
 public:
  using RecordingWorker::RecordingWorker;

 protected:
  Task<> on_startup() override {
    calls.push_back("on_startup");
    co_await sleep(1ms);
    throw std::runtime_error("cannot connect");
  }
};

/// Catches the forced cancellation once, then awaits again.
class CatchesCancellationOnce : public Worker {
 public:
  using Worker::Worker;
  int caught = 0;

 protected:
  Task<> run() override {
    try {
      co_await sleep(1h);
    } catch (const boost::system::system_error&) {
      ++caught;
    }
    co_await sleep(1h);
  }
};

/// Ignores stop, then takes forever to clean up: only a second cancel ends it.
class StuckCleanupWorker : public BadWorker {
 public:
  using BadWorker::BadWorker;
  bool cleanup_started = false;

 protected:
  Task<> on_shutdown() override {
    cleanup_started = true;
    co_await sleep(1h);
  }
};

/// Needs an await in on_shutdown after a forced stop: proves the reset.
class CleanupAfterForceWorker : public BadWorker {
 public:
  using BadWorker::BadWorker;
  bool cleaned_up = false;

 protected:
  Task<> on_shutdown() override {
    co_await sleep(1ms);
    cleaned_up = true;
  }
};

class ThrowingAfterShutdown : public NiceWorker {
 public:
  using NiceWorker::NiceWorker;

 protected:
  void after_shutdown(std::string_view, int) override { throw std::runtime_error("observer broke"); }
};

/// Serves until asked to stop: its run() races the work against the request,
/// as a server races its accept loop.
class RacesItsWorkAgainstTheStop : public Worker {
 public:
  using Worker::Worker;
  bool work_cancelled = false;

 protected:
  Task<> run() override { co_await (serve_forever() || stop_requested()); }

 private:
  Task<> serve_forever() {
    try {
      co_await sleep(1h);
    } catch (const boost::system::system_error&) {
      work_cancelled = true;
      throw;
    }
  }
};

std::string error_of(Task<> task) {
  try {
    fluid::run(std::move(task));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ---- metadata --------------------------------------------------------------

TEST(Worker, DefaultNameIsTheSnakeCaseOfTheClassName) {
  NiceWorker worker;
  EXPECT_EQ(worker.worker_name(), "nice_worker");
  BadWorker2 bad;
  EXPECT_EQ(bad.worker_name(), "bad_worker2");
}

TEST(Worker, NameOptionOverridesTheClassName) {
  NiceWorker worker({.name = "poller"});
  EXPECT_EQ(worker.worker_name(), "poller");
}

TEST(Worker, NewWorkerIsInitAndStandsForItself) {
  NiceWorker worker;
  EXPECT_EQ(worker.worker_state(), WorkerState::init);
  EXPECT_FALSE(worker.has_started());
  EXPECT_FALSE(worker.is_running());
  EXPECT_FALSE(worker.is_stopping());
  EXPECT_FALSE(worker.is_stopped());
  EXPECT_EQ(worker.num_workers(), 1u);
  EXPECT_EQ(worker.workers(), std::vector<Worker*>{&worker});
}

TEST(Worker, StatusFollowsTheLifecycle) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    auto before = co_await worker.status();
    EXPECT_EQ(before["state"], "init");
    co_await worker.startup();
    auto running = co_await worker.status();
    EXPECT_EQ(running["running"], true);
    EXPECT_EQ(running["stopping"], false);
    worker.gracefully_stop();
    auto stopping = co_await worker.status();
    EXPECT_EQ(stopping["stopping"], true);
    EXPECT_EQ(stopping["running"], false);
    co_await worker.shutdown();
    auto stopped = co_await worker.status();
    EXPECT_EQ(stopped["state"], "stopped");
    EXPECT_EQ(stopped["stop_reason"], "normal");
    EXPECT_EQ(stopped["exit_code"], 0);
  }());
}

// ---- startup ---------------------------------------------------------------

TEST(Worker, StartupReturnsOnceOnStartupHasCompleted) {
  fluid::run([]() -> Task<> {
    SlowStartWorker worker;
    co_await worker.startup();
    EXPECT_TRUE(worker.ready);
    EXPECT_TRUE(worker.is_running());
    EXPECT_EQ(worker.executor(), co_await boost::asio::this_coro::executor);
    co_await worker.shutdown();
  }());
}

TEST(Worker, SecondStartupThrowsWorkerStartErrorNamingTheWorker) {
  fluid::run([]() -> Task<> {
    NiceWorker worker({.name = "twice"});
    co_await worker.startup();
    try {
      co_await worker.startup();
      ADD_FAILURE() << "second startup did not throw";
    } catch (const WorkerStartError& e) {
      EXPECT_NE(std::string(e.what()).find("twice"), std::string::npos) << e.what();
    }
    co_await worker.shutdown();
    EXPECT_THROW(co_await worker.startup(), WorkerStartError);
  }());
}

TEST(Worker, ARetiredWorkerCannotBeStartedAndRetiringAStartedOneChangesNothing) {
  fluid::run([]() -> Task<> {
    RecordingWorker retired({.name = "retired"});
    retired.retire_unstarted();
    EXPECT_EQ(retired.worker_state(), WorkerState::init);
    EXPECT_THROW(co_await retired.startup(), WorkerStartError);
    EXPECT_TRUE(retired.calls.empty());
    RecordingWorker running;
    co_await running.startup();
    running.retire_unstarted();
    EXPECT_TRUE(running.is_running());
    co_await running.shutdown();
    EXPECT_EQ(running.stop_reason(), StopReason::normal);
  }());
}

TEST(Worker, AConcurrentSecondStartupIsRejectedWithoutTouchingTheStartedWorker) {
  // Two loops race to start one worker. The loser used to store its own
  // executor in the worker before it was rejected, overwriting the winner's.
  for (int round = 0; round < race_rounds; ++round) {
    RecordingWorker worker;
    boost::asio::io_context loops[2];
    std::latch arrived(2);
    std::latch attempted(2);
    std::atomic<int> winner{-1};
    std::atomic<int> rejected{0};
    for (int i = 0; i < 2; ++i) {
      boost::asio::co_spawn(
          loops[i],
          [&, i]() -> Task<> {
            arrived.arrive_and_wait();
            try {
              co_await worker.startup();
              winner = i;
            } catch (const WorkerStartError&) {
              ++rejected;
            }
            attempted.count_down();
          },
          boost::asio::detached);
    }
    std::jthread first([&] { loops[0].run(); });
    std::jthread second([&] { loops[1].run(); });
    attempted.wait();
    ASSERT_NE(winner.load(), -1);
    ASSERT_EQ(rejected.load(), 1);
    const auto& context = boost::asio::query(worker.executor(), boost::asio::execution::context);
    EXPECT_EQ(&context, &loops[winner.load()]) << "round " << round;
    boost::asio::co_spawn(loops[winner.load()], worker.shutdown(), boost::asio::detached);
    first.join();
    second.join();
    ASSERT_EQ(worker.worker_state(), WorkerState::stopped);
  }
}

TEST(Worker, FailingOnStartupIsRethrownAndTheWorkerEndsStoppedAfterCleanup) {
  fluid::run([]() -> Task<> {
    FailingStartWorker worker;
    EXPECT_THROW(co_await worker.startup(), std::runtime_error);
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
    EXPECT_EQ(worker.calls, (std::vector<std::string>{"on_startup", "on_shutdown", "after_shutdown"}));
    EXPECT_EQ(worker.code, 2);
    EXPECT_EQ(worker.reason, "cannot connect");
    EXPECT_THROW(co_await worker.wait_for_shutdown(), std::runtime_error);
  }());
}

TEST(Worker, HooksRunInOrderAndAfterShutdownOnceWithNormalReason) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    co_await worker.startup();
    co_await worker.shutdown();
    co_await worker.shutdown();
    EXPECT_EQ(worker.calls, (std::vector<std::string>{"on_startup", "run", "on_shutdown", "after_shutdown"}));
    EXPECT_EQ(worker.after_shutdown_calls, 1);
    EXPECT_EQ(worker.reason, "normal shutdown");
    EXPECT_EQ(worker.code, 0);
    EXPECT_EQ(worker.stop_reason(), StopReason::normal);
  }());
}

// ---- graceful stop ---------------------------------------------------------

TEST(Worker, GracefullyStopOnlyMovesRunningToStopping) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    worker.gracefully_stop();
    EXPECT_EQ(worker.worker_state(), WorkerState::init);
    co_await worker.startup();
    worker.gracefully_stop();
    EXPECT_EQ(worker.worker_state(), WorkerState::stopping);
    co_await worker.wait_for_shutdown();
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
    worker.gracefully_stop();
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
  }());
}

TEST(Worker, GracefullyStopFromAnotherThreadStopsTheWorker) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    co_await worker.startup();
    std::thread stopper([&worker] { worker.gracefully_stop(); });
    co_await worker.wait_for_shutdown();
    stopper.join();
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
  }());
}

TEST(Worker, ASubscriptionResetOnAnotherThreadWaitsForTheCallInProgress) {
  // Once reset() returns its listener is neither called again nor still
  // running: a stop told on a third thread holds the reset until the call
  // returns. The pause gives a reset that does not wait time to return early.
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    std::latch entered(1);
    std::atomic<bool> release{false};
    std::atomic<bool> returned{false};
    auto subscription = worker.subscribe([&](const StateChange& change) {
      if (change.to != WorkerState::stopping) return;
      entered.count_down();
      release.wait(false);
      returned = true;
    });
    co_await worker.startup();
    std::thread stopper([&worker] { worker.gracefully_stop(); });
    entered.wait();
    bool returned_at_reset = false;
    std::thread resetter([&] {
      subscription.reset();
      returned_at_reset = returned.load();
    });
    std::this_thread::sleep_for(50ms);
    release = true;
    release.notify_all();
    resetter.join();
    stopper.join();
    co_await worker.wait_for_shutdown();
    EXPECT_TRUE(returned_at_reset);
  }());
}

TEST(Worker, ShutdownAndWaitOnANeverStartedWorkerReturnAtOnce) {
  fluid::run([]() -> Task<> {
    BadWorker worker;
    co_await worker.shutdown();
    co_await worker.wait_for_shutdown();
    EXPECT_EQ(worker.worker_state(), WorkerState::init);
  }());
}

TEST(Worker, IdleWorkerStopsPromptlyOnShutdown) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;  // parked in stop_requested()
    co_await worker.startup();
    co_await sleep(5ms);
    const auto start = SteadyClock::now();
    co_await worker.shutdown();
    EXPECT_LT(SteadyClock::now() - start, 500ms);
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
  }());
}

TEST(Worker, SleepWhileRunningTellsWhetherItWasCutShortByAStop) {
  fluid::run([]() -> Task<> {
    NiceWorker worker;
    co_await worker.startup();
    EXPECT_TRUE(co_await worker.sleep_while_running(1ms));
    worker.gracefully_stop();
    const auto start = SteadyClock::now();
    EXPECT_FALSE(co_await worker.sleep_while_running(1h));
    EXPECT_LT(SteadyClock::now() - start, 500ms);
    co_await worker.shutdown();
  }());
}

TEST(Worker, StopRequestedEndsARunThatRacesItsWorkAgainstIt) {
  fluid::run([]() -> Task<> {
    // Without stop_requested() the race would last until the forced stop.
    RacesItsWorkAgainstTheStop worker({.stopping_grace_period = 3s});
    co_await worker.startup();
    co_await sleep(5ms);
    EXPECT_TRUE(worker.is_running());
    co_await worker.shutdown();
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
    EXPECT_EQ(worker.stop_reason(), StopReason::normal);
    EXPECT_TRUE(worker.work_cancelled);
  }());
}

TEST(Worker, StopRequestedCompletesAtOnceWhenTheStopWasAlreadyRequested) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker({.stopping_grace_period = 3s});
    co_await worker.startup();
    worker.gracefully_stop();
    co_await worker.stop_requested();  // stopping
    co_await worker.wait_for_shutdown();
    co_await worker.stop_requested();  // stopped
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
  }());
}

TEST(Worker, StopRequestedBeforeStartupWaitsForTheStartAndThenTheRequest) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker({.stopping_grace_period = 3s});
    bool requested = false;
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(
        executor,
        [&]() -> Task<> {
          co_await worker.stop_requested();
          requested = true;
        },
        boost::asio::detached);
    co_await sleep(2ms);
    EXPECT_FALSE(requested);  // in init: not asked to stop yet
    co_await worker.startup();
    co_await sleep(2ms);
    EXPECT_FALSE(requested);
    co_await worker.shutdown();
    co_await sleep(2ms);
    EXPECT_TRUE(requested);
  }());
}

TEST(Worker, StopRequestedWakesOnAStopRequestedFromAnotherThread) {
  for (int round = 0; round < 20; ++round) {
    fluid::run([]() -> Task<> {
      RacesItsWorkAgainstTheStop worker({.stopping_grace_period = 5s});
      co_await worker.startup();
      std::thread stopper([&worker] { worker.gracefully_stop(); });
      co_await (worker.wait_for_shutdown() || sleep(10s));
      stopper.join();
      EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
      co_await worker.shutdown();
    }());
  }
}

// ---- forced stop -----------------------------------------------------------

TEST(Worker, WorkerIgnoringStopIsForceStoppedAfterTheGracePeriod) {
  fluid::run([]() -> Task<> {
    BadWorker worker({.stopping_grace_period = short_grace});
    co_await worker.startup();
    EXPECT_TRUE(worker.is_running());
    const auto start = SteadyClock::now();
    co_await worker.shutdown();
    EXPECT_GE(SteadyClock::now() - start, short_grace);
    EXPECT_TRUE(worker.is_stopped());
    EXPECT_EQ(worker.worker_state(), WorkerState::force_stopped);
    EXPECT_EQ(worker.stop_reason(), StopReason::forced);
    co_await worker.wait_for_shutdown();  // forced is not a failure: nothing thrown
  }());
}

TEST(Worker, ForcedStopCallsAfterShutdownWithForcedReasonAndCode1) {
  class Recorder : public BadWorker {
   public:
    using BadWorker::BadWorker;
    std::string reason;
    int code = -1;

   protected:
    void after_shutdown(std::string_view why, int exit_code) override {
      reason = why;
      code = exit_code;
    }
  };
  fluid::run([]() -> Task<> {
    Recorder worker({.stopping_grace_period = 20ms});
    co_await worker.startup();
    co_await worker.shutdown();
    EXPECT_EQ(worker.reason, "forced shutdown");
    EXPECT_EQ(worker.code, 1);
  }());
}

TEST(Worker, OnShutdownCanStillAwaitAfterAForcedStop) {
  fluid::run([]() -> Task<> {
    CleanupAfterForceWorker worker({.stopping_grace_period = 20ms});
    co_await worker.startup();
    co_await worker.shutdown();
    EXPECT_TRUE(worker.cleaned_up);
    EXPECT_EQ(worker.worker_state(), WorkerState::force_stopped);
  }());
}

TEST(Worker, WorkerCatchingTheCancellationOnceIsStillForcedOut) {
  fluid::run([]() -> Task<> {
    CatchesCancellationOnce worker({.stopping_grace_period = 20ms});
    co_await worker.startup();
    co_await worker.shutdown();
    EXPECT_EQ(worker.caught, 1);
    EXPECT_EQ(worker.worker_state(), WorkerState::force_stopped);
  }());
}

TEST(Worker, CleanupStuckAfterAForcedStopIsCancelledAgainSoShutdownNeverHangs) {
  fluid::run([]() -> Task<> {
    StuckCleanupWorker worker({.stopping_grace_period = 20ms});
    co_await worker.startup();
    const auto start = SteadyClock::now();
    co_await worker.shutdown();
    EXPECT_LT(SteadyClock::now() - start, 5s);
    EXPECT_TRUE(worker.cleanup_started);
    EXPECT_EQ(worker.worker_state(), WorkerState::force_stopped);
  }());
}

TEST(Worker, ConcurrentShutdownsAreSafeAndFinishTogether) {
  fluid::run([]() -> Task<> {
    BadWorker worker({.stopping_grace_period = 30ms});
    co_await worker.startup();
    int finished = 0;
    auto stop = [&]() -> Task<> {
      co_await worker.shutdown();
      ++finished;
    };
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(executor, stop(), boost::asio::detached);
    co_await stop();
    co_await worker.wait_for_shutdown();
    co_await sleep(0ms);
    EXPECT_EQ(finished, 2);
    EXPECT_EQ(worker.worker_state(), WorkerState::force_stopped);
  }());
}

// ---- failures --------------------------------------------------------------

TEST(Worker, RunFailureIsRethrownToEveryWaiterIncludingLateOnes) {
  fluid::run([]() -> Task<> {
    BadWorker2 worker;
    co_await worker.startup();
    int early_waiters_saw = 0;
    auto wait = [&]() -> Task<> {
      try {
        co_await worker.wait_for_shutdown();
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "I'm so bad") ++early_waiters_saw;
      }
    };
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(executor, wait(), boost::asio::detached);
    co_await wait();
    co_await sleep(0ms);
    EXPECT_EQ(early_waiters_saw, 2);
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
    EXPECT_EQ(worker.stop_reason(), StopReason::failed);
    try {
      co_await worker.wait_for_shutdown();
      ADD_FAILURE() << "a late waiter saw no error";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "I'm so bad");
    }
    auto status = co_await worker.status();
    EXPECT_EQ(status["error"], "I'm so bad");
    EXPECT_EQ(status["exit_code"], 2);
  }());
}

TEST(Worker, ShutdownNeverThrowsTheFailureOfRun) {
  fluid::run([]() -> Task<> {
    BadWorker2 worker;
    co_await worker.startup();
    co_await sleep(10ms);
    co_await worker.shutdown();
    EXPECT_EQ(worker.stop_reason(), StopReason::failed);
  }());
}

TEST(Worker, ACancellationErrorThrownByRunItselfIsAFailureNotAForcedStop) {
  fluid::run([]() -> Task<> {
    BadWorker3 worker;
    co_await worker.startup();
    try {
      co_await worker.wait_for_shutdown();
      ADD_FAILURE() << "no error seen";
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), boost::asio::error::operation_aborted);
    }
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
    EXPECT_EQ(worker.stop_reason(), StopReason::failed);
  }());
}

TEST(Worker, FailingOnShutdownIsReportedAsTheFailure) {
  const auto error = error_of([]() -> Task<> {
    FailingCleanupWorker worker;
    co_await worker.startup();
    co_await worker.shutdown();
    EXPECT_EQ(worker.stop_reason(), StopReason::failed);
    co_await worker.wait_for_shutdown();
  }());
  EXPECT_EQ(error, "cleanup failed");
}

TEST(Worker, ExceptionFromAfterShutdownIsLoggedAndDoesNotChangeTheOutcome) {
  fluid::run([]() -> Task<> {
    ThrowingAfterShutdown worker;
    co_await worker.startup();
    co_await worker.shutdown();
    EXPECT_EQ(worker.stop_reason(), StopReason::normal);
    co_await worker.wait_for_shutdown();
  }());
}

// ---- configuration ---------------------------------------------------------

TEST(Worker, MalformedGracePeriodInTheEnvironmentFailsStartupNamingWorkerAndValue) {
  ScopedEnv env("FLUID_STOPPING_GRACE_PERIOD", "soon");
  const auto error = error_of([]() -> Task<> {
    NiceWorker worker({.name = "poller"});
    try {
      co_await worker.startup();
    } catch (...) {
      EXPECT_EQ(worker.worker_state(), WorkerState::init);
      throw;
    }
  }());
  EXPECT_NE(error.find("poller"), std::string::npos) << error;
  EXPECT_NE(error.find("soon"), std::string::npos) << error;
  EXPECT_NE(error.find("FLUID_STOPPING_GRACE_PERIOD"), std::string::npos) << error;
}

TEST(Worker, NegativeGracePeriodOptionFailsStartup) {
  fluid::run([]() -> Task<> {
    NiceWorker worker({.name = "poller", .stopping_grace_period = -1ms});
    EXPECT_THROW(co_await worker.startup(), FluidError);
    EXPECT_EQ(worker.worker_state(), WorkerState::init);
  }());
}

TEST(Worker, GracePeriodComesFromTheEnvironmentWhenNoOptionIsGiven) {
  ScopedEnv env("FLUID_STOPPING_GRACE_PERIOD", "0.05");
  fluid::run([]() -> Task<> {
    BadWorker worker;
    EXPECT_EQ(worker.stopping_grace_period(), 50ms);
    co_await worker.startup();
    const auto start = SteadyClock::now();
    co_await worker.shutdown();
    EXPECT_GE(SteadyClock::now() - start, 50ms);
    EXPECT_LT(SteadyClock::now() - start, 5s);
    EXPECT_EQ(worker.worker_state(), WorkerState::force_stopped);
  }());
}

// ---- misuse ----------------------------------------------------------------

TEST(WorkerDeathTest, DestroyingAStartedWorkerIsCaughtAndNamed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(fluid::run([]() -> Task<> {
                 NiceWorker worker({.name = "leaky"});
                 co_await worker.startup();
               }()),
               "leaky destroyed while running");
}

namespace {

/// Parks its run() on an operation the event loop knows nothing of (its
/// handler kept aside, as a callback API would), until release() is called.
class ParkedWorker : public Worker {
 public:
  std::function<void()> release;

 protected:
  Task<> run() override {
    co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void()>(
        [this](auto handler) {
          auto parked = std::make_shared<decltype(handler)>(std::move(handler));
          release = [parked] { (*parked)(); };
        },
        boost::asio::use_awaitable);
  }
};

}  // namespace

// As with co_spawn: the loop's run() must not return (leaving the worker
// suspended forever) while a started worker has not finished.
TEST(Worker, KeepsItsLoopRunningWhileWaitingOnAnOperationTheLoopDoesNotTrack) {
  boost::asio::io_context loop;
  ParkedWorker worker;
  boost::asio::co_spawn(loop, worker.startup(), boost::asio::detached);
  std::jthread releaser([&] {
    std::this_thread::sleep_for(50ms);
    boost::asio::post(loop, [&] { worker.release(); });
  });
  loop.run();
  const bool finished_before_run_returned = worker.is_stopped();
  if (!finished_before_run_returned) {  // let the release reach it, so it can be destroyed
    releaser.join();
    loop.restart();
    loop.run();
  }
  EXPECT_TRUE(finished_before_run_returned);
  EXPECT_EQ(worker.stop_reason(), StopReason::normal);
}
