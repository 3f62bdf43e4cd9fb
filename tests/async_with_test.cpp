// async_with: startup, body, and shutdown on every exit path.

#include "support/workers.hpp"

#include <gtest/gtest.h>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

using namespace fluid;
using namespace fluid::test;

TEST(AsyncWith, BodySeesARunningWorkerThatIsStoppedAfterwards) {
  fluid::run([]() -> Task<> {
    RecordingWorker worker;
    bool was_running = false;
    co_await async_with(worker, [&](RecordingWorker& w) -> Task<> {
      was_running = w.is_running();
      co_return;
    });
    EXPECT_TRUE(was_running);
    EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
    EXPECT_EQ(worker.after_shutdown_calls, 1);
  }());
}

TEST(AsyncWith, BodyErrorIsRethrownAfterTheWorkerIsShutDown) {
  RecordingWorker worker;
  EXPECT_THROW(fluid::run(async_with(worker,
                                     [](RecordingWorker&) -> Task<> {
                                       co_await sleep(1ms);
                                       throw std::logic_error("body failed");
                                     })),
               std::logic_error);
  EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
}

TEST(AsyncWith, WorkerFailureIsNotThrownByAsyncWith) {
  fluid::run([]() -> Task<> {
    BadWorker2 worker;
    co_await async_with(worker, [](BadWorker2&) -> Task<> { co_await sleep(20ms); });
    EXPECT_EQ(worker.stop_reason(), StopReason::failed);
  }());
}

TEST(AsyncWith, CancelledBodyStillShutsTheWorkerDown) {
  RecordingWorker worker;
  fluid::run([&]() -> Task<> {
    boost::asio::cancellation_signal cancel;
    auto executor = co_await boost::asio::this_coro::executor;
    bool done = false;
    boost::asio::co_spawn(executor,
                          async_with(worker, [](RecordingWorker&) -> Task<> { co_await sleep(std::chrono::hours(1)); }),
                          boost::asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr) { done = true; }));
    co_await sleep(10ms);
    EXPECT_TRUE(worker.is_running());
    cancel.emit(boost::asio::cancellation_type::terminal);
    co_await worker.wait_for_shutdown();
    co_await sleep(0ms);
    EXPECT_TRUE(done);
  }());
  EXPECT_EQ(worker.worker_state(), WorkerState::stopped);
  EXPECT_EQ(worker.calls.back(), "after_shutdown");
}

TEST(AsyncWith, FailedStartupSkipsTheBody) {
  ScopedEnv env("FLUID_STOPPING_GRACE_PERIOD", "-1");
  bool body_ran = false;
  RecordingWorker worker;
  EXPECT_THROW(fluid::run(async_with(worker,
                                     [&](RecordingWorker&) -> Task<> {
                                       body_ran = true;
                                       co_return;
                                     })),
               FluidError);
  EXPECT_FALSE(body_ran);
}
