// fluid::run and fluid::sleep: the event loop entry point and the basic wait.

#include <fluid/errors.hpp>
#include <fluid/task.hpp>

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using fluid::Task;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

Task<> append_each_turn(std::vector<std::string>& log, std::string name) {
  for (int i = 0; i < 3; ++i) {
    log.push_back(name + std::to_string(i));
    co_await fluid::sleep(0ms);
  }
}

// The error code a task ended with: empty if it returned.
Task<boost::system::error_code> error_code_of(Task<> task) {
  try {
    co_await std::move(task);
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
  co_return boost::system::error_code{};
}

}  // namespace

TEST(Run, ReturnsTheValueOfTheMainTask) {
  EXPECT_EQ(fluid::run([]() -> Task<int> { co_return 42; }()), 42);
}

TEST(Run, ReturnsAMoveOnlyValue) {
  auto value = fluid::run([]() -> Task<std::unique_ptr<int>> { co_return std::make_unique<int>(7); }());
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 7);
}

TEST(Run, RethrowsTheExceptionOfTheMainTask) {
  auto failing = []() -> Task<int> {
    co_await fluid::sleep(0ms);
    throw std::runtime_error("main failed");
  };
  try {
    fluid::run(failing());
    FAIL() << "run() returned instead of rethrowing";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "main failed");
  }
}

TEST(Run, CompletesAVoidTask) {
  bool finished = false;
  fluid::run([&]() -> Task<> {
    co_await fluid::sleep(1ms);
    finished = true;
  }());
  EXPECT_TRUE(finished);
}

TEST(Run, WithZeroThreadsThrowsFluidError) {
  EXPECT_THROW(fluid::run([]() -> Task<> { co_return; }(), {.threads = 0}), fluid::FluidError);
}

TEST(Run, WithTwoThreadsRunsAHandlerWhileTheMainTaskBlocksItsThread) {
  // With one thread the posted handler could only run once main gives the
  // thread back, so the blocking wait below would time out.
  const auto ran_in_parallel = fluid::run(
      []() -> Task<bool> {
        std::promise<void> handler_ran;
        auto done = handler_ran.get_future();
        asio::post(co_await asio::this_coro::executor, [&] { handler_ran.set_value(); });
        co_return done.wait_for(10s) == std::future_status::ready;
      }(),
      {.threads = 2});
  EXPECT_TRUE(ran_in_parallel);
}

TEST(Run, ReturnsWhenTheMainTaskEndsAbandoningWhatIsStillPending) {
  const auto start = Clock::now();
  fluid::run([]() -> Task<> {
    asio::co_spawn(co_await asio::this_coro::executor, fluid::sleep(1h), asio::detached);
    co_return;
  }());
  EXPECT_LT(Clock::now() - start, 10s);
}

// ---------------------------------------------------------------- escaping handlers

namespace {

struct EscapeCase {
  std::size_t threads;
  bool on_calling_thread;  // the escape happens on the thread that called run()
};

/// Posts one handler per thread; the first to run on a thread of the wanted
/// kind throws "escaped" (the co_spawn rethrow-on-error idiom in a real
/// program), the others hold their threads until then, so one of them is
/// left for a thread of the wanted kind.
Task<> escape_on(EscapeCase where, std::thread::id caller) {
  auto thrown = std::make_shared<std::promise<void>>();
  auto done = std::make_shared<std::shared_future<void>>(thrown->get_future().share());
  auto once = std::make_shared<std::atomic<bool>>(false);
  const auto executor = co_await asio::this_coro::executor;
  for (std::size_t i = 0; i < std::max<std::size_t>(where.threads, 2); ++i) {
    asio::post(executor, [=] {
      const bool wanted = (std::this_thread::get_id() == caller) == where.on_calling_thread;
      if (wanted && !once->exchange(true)) {
        thrown->set_value();
        throw std::runtime_error("escaped");
      }
      done->wait_for(10s);
    });
  }
  co_await fluid::sleep(1h);  // abandoned when the loop stops
}

class RunEscape : public ::testing::TestWithParam<EscapeCase> {};

}  // namespace

TEST_P(RunEscape, AnExceptionEscapingAHandlerStopsTheLoopJoinsAndIsRethrown) {
  const auto where = GetParam();
  const auto caller = std::this_thread::get_id();
  const auto start = Clock::now();
  try {
    fluid::run(escape_on(where, caller), {.threads = where.threads});
    ADD_FAILURE() << "run() returned normally";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "escaped");
  }
  EXPECT_LT(Clock::now() - start, 10s) << "the main task's 1 h sleep must be abandoned at once";
}

INSTANTIATE_TEST_SUITE_P(Threads, RunEscape,
                         ::testing::Values(EscapeCase{1, true}, EscapeCase{2, true}, EscapeCase{2, false},
                                           EscapeCase{4, true}, EscapeCase{4, false}),
                         [](const auto& info) {
                           return std::to_string(info.param.threads) + "Threads" +
                                  (info.param.on_calling_thread ? "OnTheCallingThread" : "OnAHelperThread");
                         });

TEST(Sleep, ZeroDurationYieldsToOtherCoroutines) {
  std::vector<std::string> log;
  fluid::run([&]() -> Task<> { co_await (append_each_turn(log, "a") && append_each_turn(log, "b")); }());
  EXPECT_EQ(log, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

TEST(Sleep, ZeroDurationLetsAPostedHandlerRunBeforeItResumes) {
  fluid::run([]() -> Task<> {
    bool handler_ran = false;
    asio::post(co_await asio::this_coro::executor, [&] { handler_ran = true; });
    EXPECT_FALSE(handler_ran);
    co_await fluid::sleep(0ms);
    EXPECT_TRUE(handler_ran);
  }());
}

TEST(Sleep, NegativeDurationJustYields) {
  fluid::run([]() -> Task<> {
    bool handler_ran = false;
    asio::post(co_await asio::this_coro::executor, [&] { handler_ran = true; });
    const auto start = Clock::now();
    co_await fluid::sleep(-1h);
    EXPECT_TRUE(handler_ran);
    EXPECT_LT(Clock::now() - start, 10s);
  }());
}

TEST(Sleep, WaitsAtLeastTheDuration) {
  const auto elapsed = fluid::run([]() -> Task<Clock::duration> {
    const auto start = Clock::now();
    co_await fluid::sleep(50ms);
    co_return Clock::now() - start;
  }());
  EXPECT_GE(elapsed, 50ms);
  EXPECT_LT(elapsed, 10s);
}

TEST(Sleep, IsCancelledWhenItLosesARaceAgainstAShorterTimer) {
  const auto start = Clock::now();
  const auto winner = fluid::run([]() -> Task<std::size_t> {
    const auto result = co_await (fluid::sleep(1h) || fluid::sleep(10ms));
    co_return result.index();
  }());
  EXPECT_EQ(winner, 1u);
  EXPECT_LT(Clock::now() - start, 10s);
}

TEST(Sleep, EndsWithOperationAbortedWhenItsCancellationSlotIsEmitted) {
  const auto start = Clock::now();
  const auto ec = fluid::run([]() -> Task<boost::system::error_code> {
    const auto executor = co_await asio::this_coro::executor;
    asio::cancellation_signal cancel;
    asio::steady_timer emitter(executor, 10ms);
    emitter.async_wait([&](boost::system::error_code) { cancel.emit(asio::cancellation_type::terminal); });
    co_return co_await asio::co_spawn(executor, error_code_of(fluid::sleep(1h)),
                                      asio::bind_cancellation_slot(cancel.slot(), asio::use_awaitable));
  }());
  EXPECT_EQ(ec, asio::error::operation_aborted);
  EXPECT_LT(Clock::now() - start, 10s);
}
