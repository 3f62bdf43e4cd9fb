// detail::when_all: awaits several coroutines concurrently, each started
// inline, and rethrows the first error once all have finished.

#include <fluid/detail/when_all.hpp>

#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using fluid::Task;
using fluid::detail::when_all;
namespace asio = boost::asio;

namespace {

struct Failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

TEST(WhenAll, ZeroTasksReturnAtOnceWithoutCallingTheFactory) {
  fluid::run([]() -> Task<> {
    int made = 0;
    co_await when_all(0, [&made](std::size_t) -> Task<> {
      ++made;
      co_return;
    });
    EXPECT_EQ(made, 0);
  }());
}

TEST(WhenAll, ReturnsOnlyOnceEveryTaskHasFinished) {
  fluid::run([]() -> Task<> {
    const std::vector<std::chrono::milliseconds> delays{30ms, 5ms, 15ms};
    std::vector<bool> finished(delays.size(), false);
    co_await when_all(delays.size(), [&](std::size_t i) -> Task<> {
      co_await fluid::sleep(delays[i]);
      finished[i] = true;
    });
    EXPECT_EQ(finished, (std::vector<bool>{true, true, true}));
  }());
}

TEST(WhenAll, StartsTasksInIndexOrderEachRunningUntilItFirstSuspends) {
  fluid::run([]() -> Task<> {
    std::vector<std::string> log;
    co_await when_all(3, [&log](std::size_t i) -> Task<> {
      log.push_back("start " + std::to_string(i));
      co_await fluid::sleep(0ms);
      log.push_back("end " + std::to_string(i));
    });
    EXPECT_EQ(log.size(), 6u);
    log.resize(3);
    EXPECT_EQ(log, (std::vector<std::string>{"start 0", "start 1", "start 2"}))
        << "every task starts before any resumes";
  }());
}

TEST(WhenAll, TasksThatNeverSuspendLeaveTheCallerUnsuspended) {
  fluid::run([]() -> Task<> {
    bool posted_ran = false;
    asio::post(co_await asio::this_coro::executor, [&posted_ran] { posted_ran = true; });
    int ran = 0;
    co_await when_all(4, [&ran](std::size_t) -> Task<> {
      ++ran;
      co_return;
    });
    EXPECT_EQ(ran, 4);
    EXPECT_FALSE(posted_ran) << "the caller went through the loop";
    co_await fluid::sleep(0ms);
    EXPECT_TRUE(posted_ran);
  }());
}

TEST(WhenAll, RethrowsTheFirstErrorOnceTheOtherTasksHaveFinished) {
  fluid::run([]() -> Task<> {
    bool slow_finished = false;
    std::string caught;
    try {
      co_await when_all(3, [&slow_finished](std::size_t i) -> Task<> {
        if (i == 0) {
          co_await fluid::sleep(30ms);
          slow_finished = true;
          co_return;
        }
        co_await fluid::sleep(i == 1 ? 1ms : 10ms);
        throw Failed(i == 1 ? "first" : "second");
      });
    } catch (const Failed& e) {
      caught = e.what();
    }
    EXPECT_EQ(caught, "first");
    EXPECT_TRUE(slow_finished) << "when_all returned before every task had finished";
  }());
}

TEST(WhenAll, AnExceptionFromTheFactoryIsThatTasksErrorAndTheOthersStillRun) {
  fluid::run([]() -> Task<> {
    std::vector<bool> finished(3, false);
    std::string caught;
    try {
      co_await when_all(3, [&finished](std::size_t i) -> Task<> {
        if (i == 1) throw Failed("cannot make task 1");
        return [](std::vector<bool>& done, std::size_t index) -> Task<> {
          co_await fluid::sleep(5ms);
          done[index] = true;
        }(finished, i);
      });
    } catch (const Failed& e) {
      caught = e.what();
    }
    EXPECT_EQ(caught, "cannot make task 1");
    EXPECT_EQ(finished, (std::vector<bool>{true, false, true}));
  }());
}

TEST(WhenAll, ACancelledCallerCancelsEveryTaskAndStillWaitsForThemAll) {
  using namespace asio::experimental::awaitable_operators;
  fluid::run([]() -> Task<> {
    std::vector<bool> cancelled(2, false);
    std::vector<bool> cleaned_up(2, false);
    auto tasks = when_all(2, [&](std::size_t i) -> Task<> {
      try {
        co_await fluid::sleep(1h);
      } catch (const boost::system::system_error&) {
        cancelled[i] = true;
      }
      // A cleanup that waits: the caller must not return before it ends.
      co_await asio::this_coro::reset_cancellation_state();
      co_await fluid::sleep(10ms);
      cleaned_up[i] = true;
    });
    const auto first = co_await (std::move(tasks) || fluid::sleep(10ms));
    EXPECT_EQ(first.index(), 1u) << "the timer, not the tasks, ended first";
    EXPECT_EQ(cancelled, (std::vector<bool>{true, true}));
    EXPECT_EQ(cleaned_up, (std::vector<bool>{true, true}));
  }());
}
