// WorkerFunction: a function awaited in a loop while the worker runs, with a
// stop-aware pause between calls.

#include "support/workers.hpp"

#include <fluid/worker_function.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

using namespace fluid;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Explicit, so FLUID_STOPPING_GRACE_PERIOD in the test's environment cannot matter.
WorkerOptions options(std::chrono::milliseconds grace = 5s) { return {.name = "", .stopping_grace_period = grace}; }

}  // namespace

TEST(WorkerFunction, CallsTheFunctionRepeatedlyWhileRunning) {
  int calls = 0;
  WorkerFunction* self = nullptr;
  WorkerFunction worker(
      [&]() -> Task<> {
        if (++calls == 3) self->gracefully_stop();
        co_return;
      },
      0ms, options());
  self = &worker;
  fluid::run([&]() -> Task<> {
    co_await worker.startup();
    co_await worker.wait_for_shutdown();
  }());
  EXPECT_EQ(calls, 3);  // not called again once the worker stopped running
  EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
  EXPECT_EQ(worker.stop_reason(), StopReason::normal);
}

TEST(WorkerFunction, PausesTheHeartbeatBetweenCalls) {
  constexpr auto heartbeat = 30ms;
  std::vector<SteadyClock::time_point> calls;
  WorkerFunction* self = nullptr;
  WorkerFunction worker(
      [&]() -> Task<> {
        calls.push_back(SteadyClock::now());
        if (calls.size() == 3) self->gracefully_stop();
        co_return;
      },
      heartbeat, options());
  self = &worker;
  fluid::run([&]() -> Task<> {
    co_await worker.startup();
    co_await worker.wait_for_shutdown();
  }());
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_GE(calls[1] - calls[0], heartbeat);
  EXPECT_GE(calls[2] - calls[1], heartbeat);
}

TEST(WorkerFunction, AZeroHeartbeatLetsOtherCoroutinesRun) {
  // If the loop never yielded, main would not resume after startup(); the
  // function stops the worker itself after many calls so the test fails
  // instead of hanging.
  constexpr int give_up_after = 100'000;
  int calls = 0;
  WorkerFunction* self = nullptr;
  WorkerFunction worker(
      [&]() -> Task<> {
        if (++calls == give_up_after) self->gracefully_stop();
        co_return;
      },
      0ms, options());
  self = &worker;
  fluid::run([&]() -> Task<> {
    co_await worker.startup();
    co_await fluid::sleep(0ms);
    co_await fluid::sleep(0ms);
    co_await worker.shutdown();
  }());
  EXPECT_GT(calls, 0);
  EXPECT_LT(calls, give_up_after);
}

TEST(WorkerFunction, ALongHeartbeatDoesNotDelayShutdown) {
  int calls = 0;
  WorkerFunction worker(
      [&]() -> Task<> {
        ++calls;
        co_return;
      },
      1h, options());
  const auto shutdown_took = fluid::run([&]() -> Task<SteadyClock::duration> {
    co_await worker.startup();
    while (calls == 0) co_await fluid::sleep(1ms);  // now pausing for an hour
    const auto start = SteadyClock::now();
    co_await worker.shutdown();
    co_return SteadyClock::now() - start;
  }());
  EXPECT_LT(shutdown_took, 1s);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(worker.worker_state(), WorkerState::stopped);  // returned by itself, not forced
}

TEST(WorkerFunction, AFunctionThatNeverReturnsIsForcedOutAfterTheGracePeriod) {
  bool unwound = false;
  WorkerFunction worker(
      [&]() -> Task<> {
        struct SetOnUnwind {
          bool& flag;
          ~SetOnUnwind() { flag = true; }
        } guard{unwound};
        co_await fluid::sleep(1h);
      },
      0ms, options(20ms));
  const auto start = SteadyClock::now();
  fluid::run([&]() -> Task<> {
    co_await worker.startup();
    co_await worker.shutdown();
  }());
  EXPECT_LT(SteadyClock::now() - start, 10s);
  EXPECT_TRUE(unwound);
  EXPECT_EQ(worker.worker_state(), WorkerState::force_stopped);
  EXPECT_EQ(worker.stop_reason(), StopReason::forced);
}

TEST(WorkerFunction, AnExceptionFromTheFunctionFailsTheWorker) {
  int calls = 0;
  WorkerFunction worker(
      [&]() -> Task<> {
        ++calls;
        co_await fluid::sleep(0ms);
        throw std::runtime_error("job failed");
      },
      0ms, options());
  fluid::run([&]() -> Task<> {
    co_await worker.startup();
    try {
      co_await worker.wait_for_shutdown();
      ADD_FAILURE() << "wait_for_shutdown() did not rethrow the function's error";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "job failed");
    }
  }());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
  EXPECT_EQ(worker.stop_reason(), StopReason::failed);
}

TEST(WorkerFunction, AnEmptyFunctionThrowsFluidError) {
  EXPECT_THROW(WorkerFunction(std::function<Task<>()>{}), FluidError);
}

TEST(WorkerFunction, ANegativeHeartbeatThrowsFluidError) {
  EXPECT_THROW(WorkerFunction([]() -> Task<> { co_return; }, -1ms), FluidError);
}

TEST(WorkerFunction, IsNamedWorkerFunctionByDefault) {
  WorkerFunction worker([]() -> Task<> { co_return; });
  EXPECT_EQ(worker.worker_name(), "worker_function");
}

TEST(WorkerFunction, TakesItsNameFromTheOptions) {
  WorkerFunction worker([]() -> Task<> { co_return; }, 0ms, {.name = "cleanup"});
  EXPECT_EQ(worker.worker_name(), "cleanup");
}

TEST(WorkerFunction, ReportsItsHeartbeat) {
  WorkerFunction worker([]() -> Task<> { co_return; }, 250ms);
  EXPECT_EQ(worker.heartbeat(), 250ms);
}
